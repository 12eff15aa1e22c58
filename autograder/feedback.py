"""A failed test's feedback as Gradescope shows it: Markdown, with a table where numbers differ.

    output, extra = render(exc)   # Markdown for results.json, plain data for extra_data

A `Mismatch` from `checks.assert_close` becomes its sentence and a small table (got vs expected
at the first differing entries, the max absolute and relative error, the tolerance; a single
number is one sentence, "the loss is 9.21, expected 2.3", without a table): text the
grader wrote from numbers and the test's names. Every other message may hold what the student's
code wrote (an exception's message, a traceback), so it goes, verbatim, in a code block that
nothing inside can close: nothing a student writes is ever rendered as Markdown (no links, no
images, no fake headings or tables).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from dlhw.autograder.checks import Mismatch, differ, digits_to_tell_apart, relative
from dlhw.autograder.worker.magics import leading_indent_removed, split_lines

FORMAT = "md"
_FENCE = re.compile(r"^(`{3,})")
# A name the grader looked up and did not find (blame.explain), or a NameError's.
_NOT_DEFINED = re.compile(r"(?:name '([A-Za-z_]\w*)'|\b([A-Za-z_]\w*)) is not defined")
# Top-level definitions, found by pattern (never parsed: the source is the student's, of any size).
_DEFINED = re.compile(
    r"^(?:(?:async\s+)?def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=(?!=)", re.M
)
MAX_NAMES = 5000  # names compared with a missing one (a notebook of 10,000 cells stays fast)
# Names longer than this are not compared (difflib's ratio costs up to the square of their
# length): a NameError of the student's own naming a 1,900-character name, beside 200 such
# names defined in the notebook, cost 1 s per failed test (25 s for homework 1; 5,000 names,
# 10 minutes). Homework names are under 30 characters.
MAX_NAME_CHARS = 40


def code_block(text: str) -> str:
    """A fenced block that no backtick run inside `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def code_span(text: str) -> str:
    """`text` as inline code that no backtick run inside can close, for one line of a Markdown
    table: nothing in it is rendered (no links, images, emphasis or HTML), and its pipes are
    escaped (GitHub's tables split rows on them even inside code)."""
    line = " ".join(text.split())
    if not line:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}".replace("|", r"\|")


def _number(x: float, digits: int = 8) -> str:
    return f"{x:.{digits}g}"


def _mismatch(exc: Mismatch) -> tuple[str, dict[str, Any]]:
    if exc.size == 1 and len(exc.entries) == 1 and exc.entries[0].index == "()":
        lines = _one_number(exc)  # a loss, say: no table of one row
    else:
        lines = _table(exc)
    lines += ["\n" + _sentence(text.strip()) for text in (exc.hint, exc.note) if text.strip()]
    extra = {
        "max_abs_error": exc.max_abs,
        "max_rel_error": exc.max_rel,
        "entries_differing": exc.count,
        "first_index": exc.entries[0].index if exc.entries else "",
    }
    return "\n".join(lines), extra


def _sentence(text: str) -> str:
    """`text` with a capital and a full stop, unless it starts with a name from the code
    ("nn_epoch takes steps ...", "W1 after ..."), whose spelling is kept: a word that is not
    all letters is taken for one."""
    first = text.split(maxsplit=1)[0]
    head = text[0].upper() + text[1:] if first.isalpha() else text
    return head + ("" if text.endswith((".", "?", "!")) else ".")


def _one_number(exc: Mismatch) -> list[str]:
    (entry,) = exc.entries
    digits = digits_to_tell_apart([(entry.got, entry.expected)])
    return [
        f"{exc.name} is {_number(entry.got, digits)}, expected {_number(entry.expected, digits)}.",
        "",
        f"Absolute error {exc.max_abs:.3g}, relative error {relative(exc.max_rel)} "
        f"(allowed: {exc.tolerance}).",
    ]


def _table(exc: Mismatch) -> list[str]:
    digits = digits_to_tell_apart([(e.got, e.expected) for e in exc.entries])
    lines = [
        f"{exc.name}: {differ(exc.count, exc.size)}.",
        "",
        "| entry | got | expected |",
        "|---|---:|---:|",
        *(
            f"| {e.index} | {_number(e.got, digits)} | {_number(e.expected, digits)} |"
            for e in exc.entries
        ),
        "",
        f"Max absolute error {exc.max_abs:.3g}, max relative error {relative(exc.max_rel)} "
        f"(allowed: {exc.tolerance}).",
    ]
    if exc.count > len(exc.entries):
        lines.insert(-2, "")  # a blank line ends the table
        lines.insert(-2, f"(the first {len(exc.entries)} of {exc.count} differing entries)")
    return lines


def text(message: str) -> str:
    """A message that may hold the student's own words, shown verbatim."""
    return code_block(message.strip("\n"))


def render(exc: BaseException, message: str) -> tuple[str, dict[str, Any]]:
    """Markdown feedback for a failed test, and its extra_data (empty when none)."""
    if isinstance(exc, Mismatch):
        return _mismatch(exc)
    return text(message), {}


def first_line(output: str) -> str:
    """A feedback's first line of text (for terminal tables): fences skipped."""
    lines = (ln.strip() for ln in output.splitlines())
    return next((ln for ln in lines if ln and not _FENCE.match(ln)), "")


def defined_names(sources: Iterable[str]) -> list[str]:
    """The names that cells define at top level (def, class, NAME = ...), first seen first."""
    names: dict[str, None] = {}
    for source in map(_as_run, sources):
        for match in _DEFINED.finditer(source):
            names[match.group(1) or match.group(2)] = None
            if len(names) >= MAX_NAMES:
                return list(names)
    return list(names)


def _as_run(source: str) -> str:
    """The cell as the worker runs it, as far as where its lines start goes: its lines end
    where Python ends them (`\\r` too), and one indented as a whole loses the common
    indentation (its definitions are then top-level, as in Jupyter)."""
    if source[:1] not in (" ", "\t", "\n", "\r") and "\r" not in source:
        return source  # the first line is not indented: nothing to remove
    return "\n".join(leading_indent_removed(split_lines(source)))


def defines(sources: Iterable[str], names: Iterable[str]) -> set[str]:
    """Which of `names` the cells define at top level (as `defined_names` finds them), however
    many other names come first: no cap, the answer is bounded by `names`."""
    wanted = frozenset(names)
    found: set[str] = set()
    for source in map(_as_run, sources):
        for match in _DEFINED.finditer(source):
            name = match.group(1) or match.group(2)
            if name in wanted:
                found.add(name)
    return found


def defined_again(cells: Iterable[tuple[int, str]], names: Iterable[str]) -> str:
    """A line for the summary naming each of `names` that more than one graded cell defines at
    top level (cells given by their 0-based index): the tests meet the last definition, which
    need not be the one a notebook run out of order last used (an old attempt pasted into a
    scratch cell below the real one). "" when no name is defined twice."""
    wanted = frozenset(names)
    where: dict[str, list[int]] = {}
    for index, source in cells:
        for match in _DEFINED.finditer(_as_run(source)):
            name = match.group(1) or match.group(2)
            if name in wanted and index + 1 not in where.setdefault(name, []):
                where[name].append(index + 1)
    again = [(name, cells) for name, cells in where.items() if len(cells) > 1]
    if not again:
        return ""
    listed = "; ".join(
        f"{code_span(name)} in cells {', '.join(map(str, cells[:-1]))} and {cells[-1]}"
        for name, cells in again
    )
    return (
        f"Defined in more than one graded cell: {listed}. The grader runs the cells from top to "
        "bottom: the tests use the definition in the last of these cells, even if you ran "
        "another one last in Jupyter."
    )


def missing_name(output: str) -> str:
    """The name a feedback says is not defined ("" when it says none is)."""
    match = _NOT_DEFINED.search(output)
    return "" if match is None else match.group(1) or match.group(2)


def misnamed(output: str, defined: list[str]) -> str:
    """A note for a feedback that says a name is not defined when the notebook defines one much
    like it (`softmax_regression_gradient` for `softmax_regression_grad`); "" otherwise."""
    missing = missing_name(output)
    if not missing or len(missing) > MAX_NAME_CHARS:
        return ""
    if missing in defined:  # defined, but its cell failed: grading points to that cell
        return ""
    defined = [n for n in defined if len(n) <= MAX_NAME_CHARS]
    close = [n for n in defined if n.lower() == missing.lower()]
    close = close or difflib.get_close_matches(missing, defined, n=1, cutoff=0.8)
    if not close:
        return ""
    return (
        f"\n\nYour notebook defines {code_span(close[0])}: should it be named "
        f"{code_span(missing)}? The tests look functions and classes up by their exact names."
    )
