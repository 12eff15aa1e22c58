"""IPython syntax in student cells: line magics, shell escapes, help queries and cell magics.

Applied in the worker, and only to a cell that does not compile as plain Python, so ordinary code
(a line that starts with `%` inside parentheses, say) is never rewritten.
"""

from __future__ import annotations

import re

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
    out = []
    for line in lines:
        if m := _ASSIGNED_MAGIC.match(line):
            out.append(f"{m.group(1)}{m.group(2)} = None  # removed IPython magic")
        elif m := _LINE_MAGIC.match(line):
            out.append(f"{m.group(1)}pass  # removed IPython magic")
        elif m := _HELP.match(line):
            out.append(f"{m.group(1) or m.group(2) or ''}pass  # removed IPython help")
        else:
            out.append(line)
    return "\n".join(out)
