"""What a student is told about an exception their code raised (worker's describe_error, the
grader's explain): an exception class of their own is named with the built-in one it derives
from, so that a test asking for a ValueError accepts `class BadMode(ValueError)`."""

from __future__ import annotations

from dlhw.autograder.blame import explain
from dlhw.autograder.worker.object_table import describe_error


class UnsupportedMode(ValueError):
    pass


class MissingGain(KeyError):
    pass


class OwnError(Exception):
    pass


class UnknownName(KeyError, ValueError):
    """Two built-in bases (as pandas' OptionError(AttributeError, KeyError)): both are named."""


class UnknownMode(OwnError, ValueError):
    pass


class ClaimsValueError(type):
    """A metaclass whose classes claim another MRO: the worker reads the real one."""

    @property
    def __mro__(cls):  # type: ignore[override]
        return (cls, ValueError, Exception, BaseException, object)


class Pretender(Exception, metaclass=ClaimsValueError):
    pass


def test_an_own_exception_class_is_named_with_its_built_in_base() -> None:
    error = describe_error(UnsupportedMode("fan_avg"))
    assert error["type"] == "UnsupportedMode" and error["base"] == "ValueError"
    assert explain("kaiming_std", error).startswith(
        "kaiming_std raised UnsupportedMode (a subclass of ValueError): fan_avg"
    )
    assert describe_error(MissingGain("softplus"))["base"] == "KeyError"


def test_a_class_named_as_its_base_is_not_called_a_subclass_of_itself() -> None:
    """numpy's out-of-memory error is a MemoryError subclass that names itself MemoryError."""
    import numpy as np

    try:
        np.empty(2**62, dtype=np.uint8)
    except MemoryError as exc:
        error = describe_error(exc)
    assert error["type"] == "MemoryError"
    assert explain("softmax_loss", error).startswith("softmax_loss raised MemoryError: ")


def test_built_in_and_generic_exceptions_carry_no_base() -> None:
    for exc in (ValueError("x"), KeyError("x"), OwnError("x"), Pretender("x")):
        error = describe_error(exc)
        assert "base" not in error, error
        assert explain("f", error).startswith(f"f raised {type(exc).__name__}: ")


def test_a_base_that_is_not_a_string_is_ignored() -> None:
    """The worker is not trusted: `base` may be any decoded value (an array, whose truth value
    raises; a dict). explain never fails on it, and names no base then."""
    import numpy as np

    for base in (np.arange(3.0), np.float64(1.0), {"a": 1}, ["ValueError"], 7):
        error = {"type": "BadMode", "message": "fan_avg", "base": base}
        assert explain("kaiming_std", error).startswith("kaiming_std raised BadMode: fan_avg")


def test_an_own_exception_class_of_several_built_ins_is_named_with_each() -> None:
    """`class UnknownName(KeyError, ValueError)` is a ValueError: the message says so (not only
    "a subclass of KeyError", which a test asking for a ValueError refused). Built-in classes
    that another one listed derives from (LookupError, below KeyError) are not repeated."""
    error = describe_error(UnknownName("softplus"))
    assert error["base"] == "KeyError and ValueError"
    assert explain("calculate_gain", error).startswith(
        "calculate_gain raised UnknownName (a subclass of KeyError and ValueError): "
    )
    assert describe_error(UnknownMode("fan_avg"))["base"] == "ValueError"


def test_what_was_raised_is_kept_as_names_not_read_back_from_the_message():
    """checks.assert_raises asks `StudentError.raised`: the class and its built-in bases."""
    import pytest

    from dlhw.autograder.blame import raised_by, student_error
    from dlhw.autograder.checks import assert_raises

    def raising(exc: BaseException):
        error = describe_error(exc)

        def call() -> None:
            raise student_error("f", error)

        return call

    assert raised_by(describe_error(ValueError("x"))) == ("ValueError",)
    assert raised_by(describe_error(UnknownName("x"))) == (
        "UnknownName", "KeyError", "LookupError", "ValueError"
    )  # fmt: skip
    # A built-in class is described alone; what it derives from is still what it raised.
    undecodable = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    assert raised_by(describe_error(undecodable)) == (
        "UnicodeDecodeError", "UnicodeError", "ValueError"
    )  # fmt: skip
    assert_raises(raising(undecodable), "ValueError", "f(...)")
    assert_raises(raising(KeyError("k")), "LookupError", "f(...)")
    assert_raises(raising(UnsupportedMode("bad")), "ValueError", "f(...)")
    assert_raises(raising(UnknownMode("bad")), "ValueError", "f(...)")
    with pytest.raises(AssertionError, match=r"f\(\.\.\.\) should raise ValueError, but: f raised"):
        assert_raises(raising(MissingGain("k")), "ValueError", "f(...)")
    with pytest.raises(AssertionError, match="returned a value; it should raise ValueError"):
        assert_raises(lambda: 1, "ValueError", "f(...)")
    # What the worker refused itself, or a reply that is not a description, raised nothing; a
    # message that only says "raised ValueError" is not a ValueError either.
    for error in (
        {"type": "NotDefined", "message": "f is not defined"},
        {"type": "BadReturn", "message": "raised ValueError"},
        {"type": ["ValueError"]},
        "ValueError",
        None,
    ):
        assert raised_by(error) == ()
    assert raised_by({"type": "Own", "base": ["ValueError"]}) == ("Own",)  # base not a string


def test_the_grader_keeps_no_more_of_an_error_than_the_worker_sends() -> None:
    """A patched worker can describe an error with a whole frame header (4 MiB of JSON; 16 MiB
    as a string with one character outside Latin-1) for every call: each failed test's feedback,
    report and staff log held a copy, and homework 1's grader reached 2 GB (corpus case
    huge_error_messages). The grader cuts each field to what describe_error itself sends."""
    from dlhw.autograder.blame import raised_by
    from dlhw.autograder.session import _format_error

    huge = "A" * 4_000_000 + "\U0001f600"
    error = {"type": "T" * 1_000_000, "message": huge, "traceback": ""}
    text = explain("softmax_loss", error)
    assert len(text) < 2500 and text.startswith("softmax_loss raised TTT")
    assert len(_format_error(error)) < 2500
    with_tb = {"type": "ValueError", "message": "m", "traceback": huge + "ValueError: m"}
    assert len(explain("f", with_tb)) < 4500 and explain("f", with_tb).endswith("ValueError: m")
    assert _format_error(with_tb).endswith("ValueError: m") and len(_format_error(with_tb)) <= 4000
    assert len(raised_by(error)[0]) <= 200
