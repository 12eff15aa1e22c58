"""Comparisons for hidden tests, with feedback that says what differs.

`assert_close` accepts what a plain-data reply can hold (arrays, numpy scalars, Python numbers) and
fails with a message naming the problem: not an array, a shape or dtype mismatch, NaN or inf, or the
max absolute and relative error with the first index that is out of tolerance. Tolerances are always
passed by the caller, next to the comparison, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_TABLE_ROWS = 5  # differing entries shown in a mismatch's table


@dataclass(frozen=True)
class Entry:
    index: str
    got: float
    expected: float


class Mismatch(AssertionError):
    """Values that differ beyond tolerance: the message as text, and the figures for a table
    (dlhw.autograder.feedback renders them as Markdown on Gradescope)."""

    def __init__(
        self,
        message: str,
        *,
        name: str,
        count: int,
        size: int,
        max_abs: float,
        max_rel: float,
        tolerance: str,
        entries: tuple[Entry, ...],
        hint: str = "",
        note: str = "",
    ) -> None:
        super().__init__(message)
        self.name, self.count, self.size = name, count, size
        self.max_abs, self.max_rel, self.tolerance = max_abs, max_rel, tolerance
        self.entries, self.hint, self.note = entries, hint, note


def digits_to_tell_apart(pairs: list[tuple[float, float]], least: int = 8) -> int:
    """Significant digits (at least `least`, at most 17, which tell any two floats apart) with
    which every differing (got, expected) pair prints as two numbers: values 4e-9 apart are
    right to 8 digits, and "got 0.012276561, expected 0.012276561" would say nothing."""
    for digits in range(least, 17):
        if all(f"{g:.{digits}g}" != f"{e:.{digits}g}" for g, e in pairs if g != e):
            return digits
    return 17


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(value: Any, name: str) -> np.ndarray:
    """A numeric array from a reply, or an AssertionError saying what came back instead."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (np.generic, int, float)) and not isinstance(value, bool):
        return np.asarray(value)
    got = "None (did the function forget to `return`?)" if value is None else type(value).__name__
    raise AssertionError(f"{name} should be a number or a numeric array, but it is {got}")


def as_scalar(value: Any, name: str) -> float:
    """A real scalar (a Python or numpy number, or an array with one element)."""
    arr = as_array(value, name)
    if arr.size != 1:
        raise AssertionError(
            f"{name} should be a single number, but it has shape {_fmt_shape(arr.shape)}"
        )
    if arr.dtype.kind not in "iuf":
        raise AssertionError(f"{name} should be a real number, but its dtype is {arr.dtype}")
    return float(arr.reshape(()))


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float,
    name: str = "result",
    dtype: Any = None,
    note: str = "",
) -> None:
    """Elementwise |actual - expected| <= atol + rtol * |expected|, with readable feedback.

    `dtype`, when given, is required exactly (e.g. parse_mnist must give float32). `note`, a
    sentence the feedback ends with when the values differ, says what else they depend on
    ("the epoch calls your gradient: if its tests fail, fix it first")."""
    exp = np.asarray(expected)
    act = as_array(actual, name)
    if act.dtype.kind not in "biuf":
        raise AssertionError(f"{name} should hold real numbers, but its dtype is {act.dtype}")
    if act.shape != exp.shape:
        raise AssertionError(
            f"{name} has shape {_fmt_shape(act.shape)}, expected {_fmt_shape(exp.shape)}"
        )
    if dtype is not None and act.dtype != np.dtype(dtype):
        raise AssertionError(f"{name} has dtype {act.dtype}, expected {np.dtype(dtype)}")
    a = act.astype(np.float64)
    e = exp.astype(np.float64)
    bad_nonfinite = ~np.isfinite(a) & np.isfinite(e)
    if bad_nonfinite.any():
        idx = tuple(int(i) for i in np.argwhere(bad_nonfinite)[0])
        if not a.ndim:  # one number: no index, no count
            found = f"{name} is {float(a)!r} where {float(e):.6g} was expected"
        else:
            found = (
                f"{name} contains {float(a[idx])!r} at index {idx} where {e[idx]:.6g} was "
                f"expected ({int(bad_nonfinite.sum())} non-finite values in all)"
            )
        # A note says what else the values depend on: nan there is a difference like any other.
        raise AssertionError(found + (f"\n{note}" if note else ""))
    diff = np.abs(a - e)
    allowed = atol + rtol * np.abs(e)
    bad = ~(diff <= allowed)  # also true where expected is non-finite and actual differs
    if not bad.any():
        return
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # inf where 0 was expected and something else came back (not diff / tiny, ~1e307)
        rel = np.where(e != 0, diff / np.abs(e), np.where(diff > 0, np.inf, 0.0))
    positions = np.argwhere(bad)
    first = tuple(int(i) for i in positions[0])
    max_abs, max_rel = float(np.nanmax(diff)), float(np.nanmax(rel))
    tolerance = f"atol {atol:g} + rtol {rtol:g} * |expected|"
    hint = _constant_factor(a, e) or _nearly(max_rel, rtol)
    entries = tuple(
        Entry(str(idx) if a.ndim else "()", float(a[idx]), float(e[idx]))
        for idx in (tuple(int(i) for i in row) for row in positions[:MAX_TABLE_ROWS])
    )
    digits = digits_to_tell_apart([(a[first], e[first])])
    if a.ndim:
        text = (
            f"{name}: {differ(int(bad.sum()), bad.size)}\n"
            f"  max absolute error {max_abs:.3g}, max relative error {relative(max_rel)}"
            f" (allowed: {tolerance})\n"
            f"  first difference at index {first}: got {a[first]:.{digits}g}, "
            f"expected {e[first]:.{digits}g}"
        )
    else:  # one number: what it is and what it should be
        text = (
            f"{name} is {float(a):.{digits}g}, expected {float(e):.{digits}g}\n"
            f"  absolute error {max_abs:.3g}, relative error {relative(max_rel)} (allowed: {tolerance})"
        )
    raise Mismatch(
        text + "".join(f"\n  {line}" for line in (hint, note) if line),
        name=name, count=int(bad.sum()), size=int(bad.size), max_abs=max_abs, max_rel=max_rel,
        tolerance=tolerance, entries=entries, hint=hint, note=note,
    )  # fmt: skip


def differ(count: int, size: int) -> str:
    """How many entries differ, in words ("3 of 12 entries differ from the expected values")."""
    if size == 1:
        return "its one entry differs from the expected value"
    return f"{count} of {size} entries differ from the expected values"


def relative(error: float) -> str:
    """A relative error as a student reads it: an infinite one says where it comes from."""
    return "inf (a value that should be 0 is not)" if math.isinf(error) else f"{error:.3g}"


def _nearly(max_rel: float, rtol: float) -> str:
    """A hint when every entry is within 1e-5 of the expected value, relatively, where the test
    asks for far more (rtol under 1e-6): what makes differences this small, without claiming
    which (float32 rounding and a misplaced eps look alike here)."""
    if not (0 < max_rel <= 1e-5 and rtol < 1e-6):
        return ""
    return (
        f"every entry agrees with the expected value to about {int(-math.log10(max_rel))} "
        "significant digits, but the test asks for more: float32 arithmetic somewhere (a float32 "
        "constant, state or cast) or a small term such as eps in another place makes differences "
        "this small"
    )


def _constant_factor(actual: np.ndarray, expected: np.ndarray) -> str:
    """A hint when every entry is off by the same factor (a missing 1/B, a flipped sign)."""
    scale = np.abs(expected).max(initial=0.0)
    if not np.isfinite(scale) or scale == 0:
        return ""
    finite = np.isfinite(actual) & np.isfinite(expected)
    mask = finite & (np.abs(expected) > 1e-6 * scale)
    if mask.sum() < 2:
        return ""
    ratios = actual[mask] / expected[mask]
    factor = float(np.median(ratios))
    if factor == 0 or np.abs(ratios - factor).max() > 1e-3 * abs(factor):
        return ""
    # The factor must explain the entries near 0 as well (a relu that keeps negatives is right
    # wherever the expected value is positive: "1 times" would hide where it is wrong).
    near_zero = finite & ~mask
    off = np.abs(actual[near_zero] - factor * expected[near_zero]).max(initial=0.0)
    if off > 1e-3 * abs(factor) * scale:
        return ""
    if abs(factor - 1) <= 1e-3:
        # Close to right everywhere: float32 rounding and a misplaced eps both look like this,
        # and "1 times the expected value" would say nothing true about either.
        return ""
    # A factor of 1/n (a sum where a mean was due, a 1/B too many) reads better as a fraction:
    # "1/7 times", not "0.142857 times". Up to 1/1000, and only when 1/n is exact to 1e-5 (any
    # factor is within 0.5/n of some 1/n: a loose bound would turn every small one into one).
    # Only factors that can be one (above 1/2000): 1 / factor of a subnormal one is inf, which
    # round() refuses (a student's values 1e-310 times the expected ones raised OverflowError).
    n = round(1 / factor) if abs(factor) > 5e-4 else 0
    if 2 <= abs(n) <= 1000 and abs(factor * n - 1) <= 1e-5:
        return f"every entry is {'-' if n < 0 else ''}1/{abs(n)} times the expected value"
    return f"every entry is {factor:.6g} times the expected value"


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar function, in float64: error O(eps^2) + O(roundoff/eps)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old - eps
        minus = f(x)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def assert_raises(call: Callable[[], object], kind: str, what: str) -> None:
    """`call()` calls the student's code, which must raise `kind` (a built-in exception class,
    by name), or an exception class of the student's own that derives from it. `what` says
    what was called, for the message when it returned instead or failed some other way."""
    try:
        call()
    except AssertionError as exc:  # blame.StudentError: what the student's code raised, by name
        # (checks.py ships in the students' handout without the grader: nothing imported here)
        if kind not in getattr(exc, "raised", ()):
            raise AssertionError(f"{what} should raise {kind}, but: {exc}") from None
    else:
        raise AssertionError(f"{what} returned a value; it should raise {kind}")
