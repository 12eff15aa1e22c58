"""The corpus's machinery: what a case is, the kinds of upload, the reference's graded cells and
ways to change them, and writing an upload to disk (see build_corpus.py)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import nbformat
from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.notebook import SKIP_TAG, graded_cells

HW = get_homework("hw1")
MARK = "DLHW-CORPUS-FORGED"  # what hostile cases write wherever they can; the tests look for it


@dataclass(frozen=True)
class Context:
    """What an attack aims at: values only the test knows, with stand-ins for reading."""

    results_path: str = "/autograder/results/results.json"  # where the grader writes results
    listen_port: int = 9  # a TCP port the test listens on, on 127.0.0.1
    decoy_dir: str = "/tmp/dlhw-corpus-decoy"  # a root-owned folder that must stay untouched
    shared_scratch: str = "/tmp/.X11-unix"  # a world-writable folder of root's inside /tmp
    # An earlier grading run's upload and results, left where other users can enter the folder
    earlier_upload: str = "/autograder/submission/hw1_softmax.ipynb"
    earlier_results: str = "/autograder/results/results.json"
    other_upload: str = "/tmp/dlhw-upload/hw1_softmax.ipynb"  # another student's upload (correct)


@dataclass(frozen=True)
class Link:
    """A symbolic link to `target`."""

    target: str


@dataclass(frozen=True)
class Big:
    """A large upload, written by `write(path)` when a test needs it."""

    write: Callable[[Path], None]


@dataclass(frozen=True)
class Folder:
    """A folder upload: file name -> cells, raw bytes, a JSON dict, or a Link."""

    files: dict[str, object] = field(default_factory=dict)


# A notebook is a list of cells: a source string, (source, [tags]) for a tagged code cell, or
# (text, ["markdown"]) for a markdown cell. Other uploads: a dict (written as JSON), raw bytes,
# a Big file, a Folder.
Upload = list | dict | bytes | Big | Folder


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    what: str  # what the submission does, in one line
    upload: Callable[[Context], Upload]


# ---- the reference, and changes to it ------------------------------------------------------


@cache
def reference() -> tuple[str, ...]:
    """The graded code cells of the master notebook (those not tagged skip-grading)."""
    return tuple(c.source for c in graded_cells(HW.master).cells)


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def with_functions(**functions: str) -> list:
    """The reference with the cell defining each named function replaced by the given source."""
    cells = list(reference())
    for name, source in functions.items():
        hits = [i for i, c in enumerate(cells) if f"def {name}(" in c]
        assert len(hits) == 1, f"the reference defines {name} in {len(hits)} cells"
        cells[hits[0]] = src(source)
    return cells


def after_imports(*extra: str, base: list | None = None) -> list:
    """Cells that run at import time, right after the first (imports) cell of `base` (default:
    the reference)."""
    cells = list(reference()) if base is None else base
    return cells[:1] + [src(e) for e in extra] + cells[1:]


def after_all(*extra: str, base: list | None = None) -> list:
    """Cells added at the end of `base` (default: the reference)."""
    return (list(reference()) if base is None else base) + [src(e) for e in extra]


def every_function(body: str) -> dict[str, str]:
    """Each graded function with the same one-line body, for with_functions(**...)."""
    signatures = {
        "parse_mnist": "image_filename, label_filename",
        "softmax_loss": "Z, y",
        "softmax_regression_grad": "X, y, theta",
        "softmax_regression_epoch": "X, y, theta, lr=0.1, batch=100",
    }
    return {name: f"def {name}({args}):\n    {body}" for name, args in signatures.items()}


def assign(**values: object) -> str:
    """Assignments that open a cell: the test's values, as Python literals."""
    return "".join(f"{k} = {v!r}\n" for k, v in values.items())


# A double fork + setsid: a process the worker no longer knows about, in a session of its own.
DAEMON = """
import os
import time


def daemon(loop):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            try:
                loop()
            finally:
                os._exit(0)
        os._exit(0)
"""


# ---- writing ---------------------------------------------------------------------------------


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        if tags == ["markdown"]:
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            meta = {"tags": tags} if tags else {}
            nb.cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
    return nb


def write_upload(case: Case, ctx: Context, out_dir: Path) -> Path:
    """Write the case's upload under out_dir; returns the path to grade (a file or a folder)."""
    upload = case.upload(ctx)
    if isinstance(upload, Folder):
        folder = out_dir / case.name
        folder.mkdir(parents=True)
        for name, content in upload.files.items():
            _write(folder / name, content)
        return folder
    path = out_dir / f"{case.name}.ipynb"
    _write(path, upload)
    return path


def _write(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Link):
        path.symlink_to(content.target)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        path.write_text(json.dumps(content, indent=1))
    elif isinstance(content, Big):
        content.write(path)
    elif isinstance(content, list):
        path.write_text(nbformat.writes(notebook(content)))
    else:
        raise TypeError(f"unknown upload {type(content).__name__}")
