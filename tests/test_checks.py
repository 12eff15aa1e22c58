"""Feedback from the comparison helpers: each kind of difference gets its own clear message."""

from __future__ import annotations

import numpy as np
import pytest

from dlhw.autograder.checks import as_scalar, assert_close, numeric_grad


def message(actual, expected, **kwargs) -> str:
    kwargs = {"rtol": 1e-7, "atol": 1e-10, "name": "the gradient", **kwargs}
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, **kwargs)
    return str(info.value)


def test_equal_values_pass():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    assert_close(x * (1 + 1e-9), x, rtol=1e-7, atol=0)


def test_none_says_return_is_missing():
    assert "None (did the function forget to `return`?)" in message(None, np.zeros(3))


def test_shape_mismatch_is_named():
    assert "has shape (4, 3), expected (3, 4)" in message(np.zeros((4, 3)), np.zeros((3, 4)))


def test_required_dtype_is_checked():
    assert "has dtype float64, expected float32" in message(
        np.zeros(2), np.zeros(2), dtype=np.float32
    )


def test_nan_is_located():
    actual = np.ones((2, 2))
    actual[1, 0] = np.nan
    assert "contains nan at index (1, 0)" in message(actual, np.ones((2, 2)))


def test_a_note_ends_the_message_for_non_finite_values_too():
    """An epoch whose weights come back nan says, as for any other difference, that it steps
    with the student's gradient (the note); before, only finite differences carried it."""
    note = "the epoch calls your gradient: if its tests fail, fix it first"
    actual = np.ones((2, 2))
    actual[0, 1] = np.inf
    assert message(actual, np.ones((2, 2)), note=note).endswith("\n" + note)
    assert message(np.float64(np.nan), 2.5, name="the loss", note=note) == (
        "the loss is nan where 2.5 was expected\n" + note
    )
    assert (
        message(np.float64(np.nan), 2.5, name="the loss")
        == "the loss is nan where 2.5 was expected"
    )


def test_errors_and_first_index_are_reported():
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 0.5
    text = message(actual, expected)
    assert "1 of 6 entries" in text and "index (1, 2)" in text and "max absolute error 0.5" in text
    assert "times the expected" not in text


@pytest.mark.parametrize("factor", [32.0, -1.0])
def test_a_constant_factor_is_pointed_out(factor):
    expected = np.linspace(0.1, 1.0, 10)
    assert f"every entry is {factor:g} times the expected value" in message(
        factor * expected, expected
    )


@pytest.mark.parametrize(("factor", "said"), [(1 / 7, "1/7"), (-0.5, "-1/2"), (1 / 16, "1/16")])
def test_a_factor_of_one_over_n_is_said_as_a_fraction(factor, said):
    """A mean where a sum was due (hw3's db over a batch of 7) is 1/7 of the right value."""
    expected = np.linspace(0.1, 1.0, 10)
    assert f"every entry is {said} times the expected value" in message(factor * expected, expected)
    assert "every entry is 0.1429 times" in message(0.1429 * expected, expected)  # not 1/7


@pytest.mark.parametrize("factor", [1e-310, -1e-309, 1e-4])
def test_a_tiny_factor_is_said_as_a_number(factor):
    """Values a tiny (even subnormal) multiple of the expected ones: a mismatch that says the
    factor, not an OverflowError from taking 1/factor (inf) for a fraction."""
    expected = np.linspace(1.0, 2.0, 10)
    assert "every entry is" in message(factor * expected, expected)


def test_a_single_number_is_given_with_its_expected_value():
    text = message(np.float64(9.25), 2.5, name="the loss")
    assert text.startswith("the loss is 9.25, expected 2.5\n")
    assert "relative error 2.7" in text and "entries" not in text and "index" not in text
    assert (
        message(np.float64(np.inf), 2.5, name="the loss")
        == "the loss is inf where 2.5 was expected"
    )


def test_no_factor_is_claimed_when_the_entries_near_zero_differ():
    """A relu that keeps negatives (abs) is right wherever the expected value is positive: its
    ratio there is 1, but "every entry is 1 times the expected value" would be false."""
    Z = np.linspace(-2, 2, 9)
    text = message(np.abs(Z), np.maximum(Z, 0), atol=0, rtol=1e-12)
    assert "times the expected" not in text and "within a relative" not in text


def test_a_relative_error_where_0_is_expected_is_infinite():
    text = message(np.array([0.5, 1.0]), np.array([0.0, 1.0]))
    # not 0.5 / the smallest float (~2e307), and said in words
    assert "max relative error inf (a value that should be 0 is not)" in text


def test_no_factor_is_claimed_for_values_that_are_merely_close():
    """float32 rounding, or an eps in the wrong place: every ratio is about 1, which says nothing."""
    expected = np.linspace(0.1, 1.0, 10)
    assert "times the expected" not in message(expected * (1 + 3e-6), expected, rtol=1e-7)


def test_scalars_and_strings():
    assert as_scalar(np.float32(2.5), "loss") == 2.5
    with pytest.raises(AssertionError, match="single number"):
        as_scalar(np.zeros(3), "the loss")
    with pytest.raises(AssertionError, match="is str"):
        as_scalar("1.0", "the loss")


def test_numeric_grad_matches_an_analytic_gradient():
    x = np.array([0.3, -1.2, 2.0])
    # f(x) = sum(x^3) has gradient 3 x^2; central differences err by eps^2 * |f'''| ~ 1e-12.
    np.testing.assert_allclose(numeric_grad(lambda v: float((v**3).sum()), x), 3 * x**2, rtol=1e-8)


def test_values_right_to_float32_precision_are_told_what_makes_differences_that_small():
    expected = np.linspace(0.1, 2.0, 12)
    text = message(expected.astype(np.float32).astype(np.float64), expected, atol=0, rtol=1e-9)
    assert "agrees with the expected value to about 7 significant digits" in text
    assert "float32" in text and "eps" in text
    # Not when the values are far off (a factor says more), nor when the test is loose.
    assert "significant digits" not in message(2 * expected, expected, atol=0, rtol=1e-9)
    loose = message(expected * (1 + 5e-4), expected, atol=0, rtol=1e-4)
    assert "significant digits" not in loose
