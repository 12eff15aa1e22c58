"""Feedback as Markdown: tables for numbers that differ, student text shown verbatim and inert."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlhw.autograder import feedback
from dlhw.autograder.checks import Mismatch, assert_close


def mismatch(actual, expected, **kw) -> Mismatch:
    with pytest.raises(Mismatch) as info:
        assert_close(actual, expected, rtol=1e-7, atol=0, name="the gradient", **kw)
    return info.value


def test_a_mismatch_is_a_sentence_a_table_and_the_error_figures() -> None:
    expected = np.arange(12.0).reshape(3, 4) + 1
    exc = mismatch(expected * 2, expected)
    output, extra = feedback.render(exc, str(exc))
    lines = output.splitlines()
    assert lines[0] == "the gradient: 12 of 12 entries differ from the expected values."
    assert lines[2] == "| entry | got | expected |" and lines[4] == "| (0, 0) | 2 | 1 |"
    assert len([ln for ln in lines if ln.startswith("| (")]) == 5  # the first five only
    assert "Every entry is 2 times the expected value." in output
    assert extra == {
        "max_abs_error": 12.0,
        "max_rel_error": 1.0,
        "entries_differing": 12,
        "first_index": "(0, 0)",
    }
    assert feedback.first_line(output) == lines[0]
    # The text message (terminal, CLI) says the same.
    assert "first difference at index (0, 0): got 2, expected 1" in str(exc)


def test_an_array_of_one_entry_is_not_counted_as_1_of_1() -> None:
    exc = mismatch(np.array([2.0]), np.array([1.0]))
    output, _ = feedback.render(exc, str(exc))
    assert output.splitlines()[0] == "the gradient: its one entry differs from the expected value."
    assert str(exc).startswith("the gradient: its one entry differs from the expected value\n")


def test_a_single_number_is_one_sentence_without_a_table() -> None:
    with pytest.raises(Mismatch) as info:
        assert_close(np.float64(9.25), 2.5, rtol=1e-7, atol=0, name="the loss")
    output, extra = feedback.render(info.value, str(info.value))
    assert output.splitlines()[0] == "the loss is 9.25, expected 2.5."
    assert "| entry |" not in output and "entries" not in output
    assert extra["entries_differing"] == 1 and extra["first_index"] == "()"


def test_an_infinite_relative_error_says_where_it_comes_from() -> None:
    """A value where 0 was expected has an infinite relative error: "inf" alone reads as an
    overflow in the student's code."""
    exc = mismatch(np.array([0.5, 1.0]), np.zeros(2))
    output, _ = feedback.render(exc, str(exc))
    assert "max relative error inf (a value that should be 0 is not)" in output
    with pytest.raises(Mismatch) as info:
        assert_close(0.25, 0.0, rtol=1e-7, atol=0, name="the loss")
    output, _ = feedback.render(info.value, str(info.value))
    assert "relative error inf (a value that should be 0 is not)" in output


def test_a_note_that_starts_with_a_name_keeps_its_spelling() -> None:
    """Hint and note become sentences: a capital for a word, never for a function's name
    ("Nn_epoch takes steps with your two_layer_grads" read as a typo)."""
    note = "nn_epoch takes steps with your two_layer_grads: if its tests fail, fix it first"
    output, _ = feedback.render(mismatch(np.ones(3) * 2, np.ones(3), note=note), "")
    assert output.endswith("\n\n" + note + ".")
    output, _ = feedback.render(mismatch(np.ones(3) * 2, np.ones(3), note="the epoch runs"), "")
    assert output.endswith("\n\nThe epoch runs.")


def test_student_text_is_verbatim_in_a_fence_it_cannot_close() -> None:
    hostile = "softmax_loss raised ValueError: ````\n# TOTAL 31/31\n![x](http://evil/leak)\n| a |"
    output, extra = feedback.render(ValueError(), hostile)
    assert extra == {}
    fence = output.splitlines()[0].removesuffix("text")
    assert set(fence) == {"`"} and len(fence) == 5  # longer than the student's 4 backticks
    assert output.endswith("\n" + fence) and hostile in output
    assert feedback.first_line(output).startswith("softmax_loss raised ValueError")


def test_a_name_not_defined_is_matched_with_one_the_notebook_defines() -> None:
    sources = ["import numpy as np\nTHETA = 1\ndef softmax_regression_gradient(X, y, theta):\n"
               "    inner = 2\n", "class Linear:\n    def forward(self): ...\n"]  # fmt: skip
    defined = feedback.defined_names(sources)
    assert defined == ["THETA", "softmax_regression_gradient", "Linear"]  # top level only
    note = feedback.misnamed("softmax_regression_grad is not defined in your notebook", defined)
    assert "defines `softmax_regression_gradient`: should it be named" in note
    assert "`Linear`" in feedback.misnamed("name 'linear' is not defined", defined)
    # Nothing alike, or defined after all (its cell failed: the cell is pointed to instead).
    assert feedback.misnamed("relu is not defined in your notebook", defined) == ""
    assert feedback.misnamed("THETA is not defined in your notebook", defined) == ""


def test_a_cell_indented_as_a_whole_defines_at_top_level_as_it_runs() -> None:
    """The worker removes a cell's common indentation, as IPython does (magics.py): what such a
    cell defines is top-level, for feedback too. A body indented under a def stays inside it."""
    pasted = (
        "\n    def softmax_regression_gradient(X, y, theta):\n        inner = 2\n    THETA = 1\n"
    )
    sources = [pasted, "def softmax_regression_gradient(X, y, theta):\n    return 0\n"]
    assert feedback.defined_names(sources) == ["softmax_regression_gradient", "THETA"]
    assert feedback.defines(sources, {"THETA", "inner"}) == {"THETA"}
    again = feedback.defined_again(enumerate(sources), ["softmax_regression_gradient"])
    assert "`softmax_regression_gradient` in cells 1 and 2" in again


@pytest.mark.parametrize("end", ["\r\n", "\r"])
def test_a_cell_with_other_line_ends_defines_as_it_runs(end) -> None:
    """The worker ends lines at `\\r\\n` and `\\r` as Python does (magics.py): a cell saved so,
    indented as a whole with a blank line or not, defines what it runs, for feedback too (its
    `\\r` blank line kept the common indentation; and after a lone `\\r` nothing was found)."""
    pasted = end.join(["", "  def f(x):", "    return x", "", "  THETA = 1", ""])
    plain = end.join(["def g(x):", "    return x", "PHI = 2"])
    assert feedback.defined_names([pasted, plain]) == ["f", "THETA", "g", "PHI"]
    assert feedback.defines([pasted], {"THETA"}) == {"THETA"}
    assert "`f` in cells 1 and 2" in feedback.defined_again(enumerate([pasted, pasted]), ["f"])


def test_names_the_student_chose_are_compared_in_bounded_time(monkeypatch) -> None:
    # difflib's ratio costs up to the square of the names' length: a NameError naming a
    # 1,900-character name (of distinct letters), beside 200 permutations of it defined in the
    # notebook, cost 1 s per failed test, and 5,000 of them 25 s per test.
    import random
    from types import SimpleNamespace

    from dlhw.autograder import grading
    from dlhw.autograder.notebook import GradedCell, ReadNotebook

    letters = [chr(c) for c in range(0x4E00, 0x4E00 + 1900)]
    defined = []
    for seed in range(200):
        random.Random(seed).shuffle(letters)
        defined.append("A" + "".join(letters))
    compared: list[str] = []
    close_matches = feedback.difflib.get_close_matches

    def spy(word, possibilities, *args, **kwargs):
        compared.extend([word, *possibilities])
        return close_matches(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(feedback.difflib, "get_close_matches", spy)
    assert feedback.misnamed(f"name '{defined[0][::-1]}' is not defined", defined) == ""
    note = feedback.misnamed("name 'softmax_los' is not defined", [*defined, "softmax_loss"])
    assert "`softmax_loss`" in note
    assert compared and max(map(len, compared)) <= feedback.MAX_NAME_CHARS
    # A different missing name in every test: only the first few are looked up.
    looked_up: list[str] = []
    monkeypatch.setattr(grading, "misnamed", lambda out, names: looked_up.append(out) or "")
    entries = [
        {"status": "failed", "output": f"name 'softmax_los{i}' is not defined"} for i in range(30)
    ]
    read = ReadNotebook(Path("nb.ipynb"), (GradedCell(0, "softmax_loss = 1"),), (), ())
    grading._point_to_failed_cells(entries, read, SimpleNamespace(reports=[]))
    assert len(looked_up) == grading.MAX_MISSING_LOOKED_UP


def test_a_tests_note_ends_the_feedback_of_values_that_differ() -> None:
    note = "the epoch calls your gradient: if its tests fail, fix it first"
    expected = np.linspace(0.1, 1.0, 10)
    with pytest.raises(Mismatch) as info:
        assert_close(2 * expected, expected, rtol=1e-7, atol=0, name="theta", note=note)
    output, _ = feedback.render(info.value, str(info.value))
    assert output.endswith(
        "\n\nEvery entry is 2 times the expected value.\n\n"
        "The epoch calls your gradient: if its tests fail, fix it first."
    )
    assert str(info.value).endswith("\n  " + note)
    assert_close(expected, expected, rtol=0, atol=0, note=note)  # values that agree: no note


def test_a_blank_note_adds_nothing() -> None:
    """A test's note of only spaces (its author's slip) must not break the run's feedback."""
    expected = np.arange(1.0, 5.0)
    blank, plain = mismatch(expected + 1, expected, note="   "), mismatch(expected + 1, expected)
    assert feedback.render(blank, str(blank))[0] == feedback.render(plain, str(plain))[0]


def test_values_that_agree_to_8_digits_are_shown_with_enough_digits_to_differ() -> None:
    """A float32 learning rate on float64 parameters is off by ~4e-9 relative: printed to 8
    digits, "got 0.012276561, expected 0.012276561" showed no difference at all."""
    expected = np.array([0.012276561047, 1.5])
    got = expected * (1 + np.array([4e-9, 0.0]))
    with pytest.raises(Mismatch) as info:
        assert_close(got, expected, rtol=1e-9, atol=0, name="params[1]")
    output, _ = feedback.render(info.value, str(info.value))
    row = next(ln for ln in output.splitlines() if ln.startswith("| (0,)"))
    _, _, shown_got, shown_expected, _ = (cell.strip() for cell in row.split("|"))
    assert shown_got != shown_expected and len(shown_got) <= 13  # 10 digits suffice here
    assert "got 0.0122765611, expected 0.012276561\n" in str(info.value) + "\n"
    with pytest.raises(Mismatch) as info:
        assert_close(np.float64(got[0]), expected[0], rtol=1e-9, atol=0, name="the loss")
    output, _ = feedback.render(info.value, str(info.value))
    assert output.splitlines()[0] == "the loss is 0.0122765611, expected 0.012276561."
