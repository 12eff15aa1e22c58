"""Reading a submitted notebook: load, validate, pick the graded cells.

Everything here runs on the trusted side and only parses: no student code is executed. A notebook
that cannot be read raises `NotebookError` with a message written for the student.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

SKIP_TAG = "skip-grading"
MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_UPLOAD_ENTRIES = 100_000  # files and folders of an upload folder looked at
# JSON values a notebook may hold, and objects among them (counted before parsing, json_values).
# Parsed, a value costs a Python object where its JSON can take 3 bytes (`[],`: 64 bytes of
# memory; `{},`: ~480 as nbformat's NotebookNode), and nbformat builds more than one copy: a 49 MB
# notebook of 17 million empty lists in a cell's metadata took the grader to 3.7 GB and 17 s.
# The homeworks' notebooks hold under 1,000 values and 200 objects; a plotly figure of 100,000
# points ~200,000 values (images and long outputs are single strings).
MAX_NOTEBOOK_VALUES = 1_000_000
MAX_NOTEBOOK_OBJECTS = 100_000
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


class NotebookError(Exception):
    """The upload is not a readable Jupyter notebook; the message says why, for the student."""


@dataclass(frozen=True)
class GradedCell:
    index: int  # position among all cells of the notebook (0-based)
    source: str  # as written; the worker neutralises IPython syntax (see worker/magics.py)


@dataclass(frozen=True)
class ReadNotebook:
    path: Path
    cells: tuple[GradedCell, ...]
    skipped: tuple[int, ...]  # code cells skipped because of their tag
    notes: tuple[str, ...]


def upload_files(folder: Path) -> list[Path]:
    """Every entry of an upload folder that is not a folder (files, links, anything else),
    sorted. Found without recursion and without following links: an upload 1,500 folders deep
    made `rglob` raise RecursionError, failing that run and, in `batch`, the whole class. Folders
    that cannot be listed (too deep for a path, unreadable) are left out, as rglob left them;
    more than MAX_UPLOAD_ENTRIES entries is a NotebookError."""
    found: list[Path] = []
    todo, seen = [folder], 0
    while todo:
        current = todo.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError:
            continue
        seen += len(entries)
        if seen > MAX_UPLOAD_ENTRIES:
            raise NotebookError(
                f"the upload holds more than {MAX_UPLOAD_ENTRIES:,} files and folders: "
                "upload only the notebook"
            )
        for entry in entries:
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            (todo if is_folder else found).append(current / entry.name)
    return sorted(found)


def json_values(text: str) -> tuple[int, int]:
    """At most how many values (containers, numbers, strings, keys) the JSON `text` holds, and
    how many of them are objects: every value but the first follows a `,`, `[`, `{` or `:`
    outside a string, and an object opens with `{` (~0.3 s for 50 MB)."""
    rest = _JSON_STRING.sub("", text)
    return 1 + sum(rest.count(c) for c in ",[{:"), rest.count("{")


def read_notebook(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> nbformat.NotebookNode:
    """Load and validate with nbformat (older versions are converted to v4)."""
    # Imported here: `grade` reads the notebook while the worker boots, so nbformat's import
    # (jsonschema with it, ~50 ms) overlaps the worker's start instead of preceding it.
    import nbformat
    from nbformat.warnings import DuplicateCellId

    if not path.is_file():
        raise NotebookError(f"{path.name} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise NotebookError(f"{path.name} is empty (0 bytes): upload the saved .ipynb file")
    if size > max_bytes:
        raise NotebookError(
            f"{path.name} is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit: "
            "clear the outputs (Kernel > Restart & Clear Output), save, and upload again"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(
            f"{path.name} is not a text file (is it a renamed binary, a zip or a PDF?); "
            "upload the .ipynb file saved by Jupyter"
        ) from None
    values, objects = json_values(text)
    if values > MAX_NOTEBOOK_VALUES or objects > MAX_NOTEBOOK_OBJECTS:
        raise NotebookError(
            f"{path.name} holds about {values:,} JSON values, {objects:,} of them objects, over "
            f"the limits of {MAX_NOTEBOOK_VALUES:,} and {MAX_NOTEBOOK_OBJECTS:,}: clear the "
            "outputs (Kernel > Restart & Clear Output), save, and upload again"
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(
            f"{path.name} is not valid JSON, so it is not a Jupyter notebook ({exc})"
        ) from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError(f"{path.name} is JSON but not a Jupyter notebook (no cells)")
    del data  # checked; nbformat parses the text again, and two copies at once are one too many
    try:
        # Parsed and converted without `nbformat.reads`, which validates too (and only logs what
        # it finds): validated once, here, where a failure is the student's message.
        nb = nbformat.convert(nbformat.reader.reads(text), 4)
        with warnings.catch_warnings():
            # Cells sharing an id (copied by hand, or 10,000 random ids that meet) are given
            # new ones: nothing the grader or the student need hear about.
            warnings.simplefilter("ignore", DuplicateCellId)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for invalid notebooks
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{path.name} is not a valid Jupyter notebook: {first}") from None
    return nb


def graded_cells(path: Path, skip_tag: str = SKIP_TAG) -> ReadNotebook:
    """The code cells the grader runs, in order; cells tagged `skip_tag` are left out."""
    nb = read_notebook(path)
    cells: list[GradedCell] = []
    skipped: list[int] = []
    notes: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if skip_tag in cell.metadata.get("tags", []):
            skipped.append(index)
            continue
        if cell.source.strip():
            cells.append(GradedCell(index, cell.source))
    if not cells:
        raise NotebookError(f"{path.name} has no code to grade (no non-empty code cells)")
    return ReadNotebook(path, tuple(cells), tuple(skipped), tuple(notes))
