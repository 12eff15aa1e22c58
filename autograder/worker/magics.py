"""IPython syntax in student cells: line magics, shell escapes, help queries, cell magics, and
a cell indented as a whole.

Applied in the worker, and only to a cell that does not compile as plain Python; and even then only
lines that start a statement are rewritten (found with `tokenize`, as IPython does), so Python on a
continuation line (`!= b` or `% n` inside parentheses or after a backslash) is never touched.
"""

from __future__ import annotations

import io
import re
import textwrap
import tokenize
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ast

# Cell magics whose body is Python: run the body. Any other cell magic (%%bash, %%writefile, ...)
# makes the whole cell foreign, and it is skipped.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_LINE_MAGIC = re.compile(r"^(\s*)([%!].*)$")
# Before an `=` that is no assignment: `==`, `!=`, `<=`, `+=`, `:=`, ...
_OPERATOR_CHARS = frozenset("=!<>+-*/%&|^@:~")
_HELP = re.compile(r"^(\s*)[\w.]+\?\??\s*$|^(\s*)\?\??[\w.]+\s*$")
# Where Python ends a line. str.splitlines also splits at a form feed, U+2028 and the like, which
# Python keeps inside a line (a string or comment pasted from a PDF): cut there and joined by a
# newline, such a string no longer compiled, and the whole cell was lost (IPython keeps it).
_LINE_END = re.compile("\r\n|\r|\n")


def split_lines(source: str) -> list[str]:
    """The cell's lines, as Python ends them (`\\r\\n`, `\\r`, `\\n`), with no line after the
    last line end, as str.splitlines."""
    lines = _LINE_END.split(source)
    if lines[-1] == "":
        lines.pop()
    return lines


def leading_indent_removed(lines: list[str]) -> list[str]:
    """A cell indented as a whole (pasted from a function's body) runs in Jupyter: IPython
    removes the lines' common indentation first (inputtransformer2.leading_indent)."""
    if next((line for line in lines if line.strip()), "")[:1] in (" ", "\t"):
        return textwrap.dedent("\n".join(lines)).split("\n")
    return lines


def neutralise_ipython(source: str) -> str | None:
    """Turn IPython-only syntax into plain Python; None when the cell is not Python at all."""
    lines = leading_indent_removed(split_lines(source))
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        lines = ["pass  # removed cell magic: " + lines[0].strip()] + lines[1:]
    out: list[str] = []
    statements = _Statements(len(source))
    for line in lines:
        assigned = _assigned_magic(line) if "=" in line else None
        if not assigned and not _LINE_MAGIC.match(line) and not _HELP.match(line):
            out.append(line)  # cannot be IPython syntax: no need to know where it stands
            continue
        if not statements.start_after(out):
            out.append(line)  # inside brackets, a string or after a backslash: Python's
            continue
        if assigned:
            target, parts, last = assigned
            out.append(f"{target} = {_nones(target[last:], parts)}  # removed IPython magic")
        elif m := _LINE_MAGIC.match(line):
            out.append(f"{m.group(1)}pass  # removed IPython magic")
        elif m := _HELP.match(line):
            out.append(f"{m.group(1) or m.group(2) or ''}pass  # removed IPython help")
        else:
            out.append(line)
    return "\n".join(out)


def _assigned_magic(line: str) -> tuple[str, int, int] | None:
    """(the line up to its `=`, without trailing spaces; how many targets: 0 for one without a
    comma; where the last statement's targets start) for a line that assigns an IPython
    escape's value, None for any other. As IPython
    finds it: the first `=` token outside brackets and strings (past `==`, `+=`, `:=`, ...,
    other tokens), if `%` or `!` follows it: `x = %time f()`, `d["k"] = %timeit -o f()`,
    `x.y = !ls`, `x: int = %time f()`, `a, b = !ls`, `if a == b: t = %time f()`. The targets
    are counted after the last `;` or `:` (`for i, j in z: a, b = !ls` has two). A
    triple-quoted string is one string (a lone quote inside it opens none). One pass over the
    line: a regex that backtracked over the target took a line of a megabyte an hour."""
    depth, commas, parts, i, last = 0, False, 0, 0, 0
    part_started = False
    while i < len(line):
        c = line[i]
        if c in "'\"":
            quote = c * 3 if line[i : i + 3] == c * 3 else c
            i += len(quote)
            while i < len(line) and not line.startswith(quote, i):
                i += 2 if line[i] == "\\" else 1  # the escaped character is skipped with it
            if i >= len(line):
                return None  # the string goes on past the line: any `=` left is in it
            i += len(quote)
            part_started = True
            continue
        if c in "([{":
            depth, part_started = depth + 1, True
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "#":
            return None
        elif depth == 0 and c in ";:":  # a new statement, or the targets are after it
            commas, parts, part_started, last = False, 0, False, i + 1
        elif depth == 0 and c == ",":
            commas, parts, part_started = True, parts + part_started, False
        elif depth == 0 and c == "=":
            if line[i + 1 : i + 2] == "=":
                i += 2  # `==`: another token
                continue
            if i and line[i - 1] in _OPERATOR_CHARS:
                i += 1  # `+=`, `!=`, `<=`, `:=`, ...: another token
                continue
            target = line[:i].rstrip()
            if not target.strip() or target.lstrip()[:1] in ("%", "!"):
                return None
            if line[i + 1 :].lstrip()[:1] not in ("%", "!"):
                return None
            return target, (parts + part_started if commas else 0), last
        elif not c.isspace():
            part_started = True
        i += 1
    return None


def _nones(targets: str, counted: int) -> str:
    """A value of None for each name the removed magic's value was assigned to, in the targets'
    shape: `a, b = None` raised a TypeError (not iterable) where `a, b = %time f()` ran in
    Jupyter, and the rest of the cell, functions below it included, never ran; so did
    `(a, b) = ...` and `a, (b, c) = ...` given `None` and `None, None`. `counted`: the targets
    counted at the top level, for targets that do not parse alone (`x: int`, a long line)."""
    if len(targets) < 10_000:
        import ast  # only for such a line: the worker's start does without it

        try:
            statement = ast.parse(targets.strip() + " = None").body[0]
        except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
            statement = None
        if isinstance(statement, ast.Assign):
            return _shaped(statement.targets[0])
    if counted == 0:
        return "None"
    return ("None, " * counted).rstrip()


def _shaped(target: ast.expr) -> str:
    """None for a name, attribute or item; a tuple of them for a tuple or list of targets (a
    starred one takes what is left: nothing)."""
    import ast

    if isinstance(target, (ast.Tuple, ast.List)):
        inner = [_shaped(t) for t in target.elts if not isinstance(t, ast.Starred)]
        return f"({', '.join(inner)}{',' if len(inner) == 1 else ''})"
    return "None"


class _Statements:
    """Whether a line starts a new statement, as IPython decides where its escapes apply: not a
    continuation inside brackets, a multi-line string, or after a backslash, where `!= b` or `%`
    are Python operators. The lines before it (already rewritten to Python) are tokenized from
    the last line known to start a statement, after lines that restore the indentation in force
    there (`pass` at each level), not from the cell's start: reading the whole cell for every
    line took a cell of 3,000 lines 40 s. A multi-line string can end only on a line holding a
    quote, so lines without one after a read that ended inside a string are not read again (a
    LaTeX preamble of 30 `%` comment lines in a string spent the budget, and a
    `%matplotlib inline` below it was left as it was: the whole cell failed to compile).
    Other magic-looking lines inside one long string or bracket are read again each time: past
    a budget of a few times the cell's length in all, they are left as they are
    (continuations)."""

    def __init__(self, cell_chars: int) -> None:
        self.start = 0  # the lines before this one need not be read again
        self.indents: list[str] = []  # the indentation in force at `start`, outermost first
        self.budget = 8 * cell_chars + 1000  # characters tokenized for the cell, in all
        self.lost = False  # the tokenizer gave up on a line already read: it will again
        self.in_string: int | None = None  # a read ended in a string: lines since looked at

    def start_after(self, before: list[str]) -> bool:
        if self.lost:
            return True
        # Still in the string: no quote since. (A '...' string continued by backslashes also
        # stops at a line without one; such a cell is no Python, whatever is rewritten.)
        if self.in_string is not None:
            if not any("'" in line or '"' in line for line in before[self.in_string :]):
                self.in_string = len(before)
                return False
        if self.budget <= 0:
            return False
        lines = [f"{level}pass" for level in self.indents] + before[self.start :]
        text = "\n".join(lines) + "\n"
        self.budget -= len(text)
        indents: list[str] = []
        try:
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type == tokenize.INDENT:
                    indents.append(token.string)
                elif token.type == tokenize.DEDENT and token.start[0] <= len(lines):
                    indents.pop()  # not those that close every block at the end of the text
        except tokenize.TokenError as exc:  # "EOF in multi-line statement/string": a continuation
            self.in_string = len(before) if exc.args[0] == "EOF in multi-line string" else None
            return False
        except (SyntaxError, ValueError):  # a tokenizer that gives up on other text: decide as
            self.lost = True  # IPython would for a line it cannot place, treating it as a new line
            return True
        self.start, self.indents, self.in_string = len(before), indents, None
        return True
