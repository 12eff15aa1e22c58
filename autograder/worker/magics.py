"""IPython syntax in student cells: line magics, shell escapes, help queries and cell magics.

Applied in the worker, and only to a cell that does not compile as plain Python; and even then only
lines that start a statement are rewritten (found with `tokenize`, as IPython does), so Python on a
continuation line (`!= b` or `% n` inside parentheses or after a backslash) is never touched.
"""

from __future__ import annotations

import io
import re
import tokenize

# Cell magics whose body is Python: run the body. Any other cell magic (%%bash, %%writefile, ...)
# makes the whole cell foreign, and it is skipped.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_LINE_MAGIC = re.compile(r"^(\s*)([%!].*)$")
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w, ]*?)\s*=\s*[%!].*$")
_HELP = re.compile(r"^(\s*)[\w.]+\?\??\s*$|^(\s*)\?\??[\w.]+\s*$")


def neutralise_ipython(source: str) -> str | None:
    """Turn IPython-only syntax into plain Python; None when the cell is not Python at all."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        lines = ["pass  # removed cell magic: " + lines[0].strip()] + lines[1:]
    out: list[str] = []
    for line in lines:
        if not _LINE_MAGIC.match(line) and not _HELP.match(line) and "=" not in line:
            out.append(line)  # cannot be IPython syntax: no need to know where it stands
            continue
        if not _starts_statement(out):
            out.append(line)  # inside brackets, a string or after a backslash: Python's
            continue
        if m := _ASSIGNED_MAGIC.match(line):
            out.append(f"{m.group(1)}{m.group(2)} = None  # removed IPython magic")
        elif m := _LINE_MAGIC.match(line):
            out.append(f"{m.group(1)}pass  # removed IPython magic")
        elif m := _HELP.match(line):
            out.append(f"{m.group(1) or m.group(2) or ''}pass  # removed IPython help")
        else:
            out.append(line)
    return "\n".join(out)


def _starts_statement(before: list[str]) -> bool:
    """Whether the line after `before` (already rewritten to Python) starts a new statement, as
    IPython decides where its escapes apply: not a continuation inside brackets, a multi-line
    string, or after a backslash, where `!= b` or `%` are Python operators."""
    text = "\n".join(before) + "\n"
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except tokenize.TokenError:  # "EOF in multi-line statement/string": a continuation
        return False
    except (SyntaxError, ValueError):  # a tokenizer that gives up on other text: decide as IPython
        return True  # would for a line it cannot place, treating it as a new line
    return True
