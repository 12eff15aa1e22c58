"""Student stubs from master notebooks: solution regions out, "your code here" in.

A master notebook's code cells mark reference code with comment lines

    # BEGIN SOLUTION
    ...reference code...
    # END SOLUTION

and each region becomes `# YOUR CODE HERE` + `raise NotImplementedError()` at the marker's
indentation. Outputs and execution counts are cleared. `check_assignment` regenerates in memory
and reports what differs from the committed files, so CI fails when a stub is out of date.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from dlhw.autograder.homeworks import Homework

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
PUBLIC_HEADER = (
    "# Public tests for {slug}: generated from the course's master copy by `make assignments`.\n"
    "# Check your notebook with:  autograder check {id} {slug}.ipynb\n"
)


class MarkerError(ValueError):
    """Unbalanced or nested solution markers in a master notebook."""


def strip_solutions(source: str, where: str = "cell") -> str:
    out: list[str] = []
    indent: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if indent is not None:
                raise MarkerError(f"{where}, line {number}: nested # BEGIN SOLUTION")
            indent = begin.group(1)
        elif end:
            if indent is None:
                raise MarkerError(f"{where}, line {number}: # END SOLUTION without a BEGIN")
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: # BEGIN SOLUTION is never closed")
    return "\n".join(out)


def make_stub(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    stub = copy.deepcopy(master)
    for index, cell in enumerate(stub.cells):
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where=f"cell {index + 1}")
            cell.outputs = []
            cell.execution_count = None
    return stub


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    text: str


def generated_files(hw: Homework) -> list[GeneratedFile]:
    master = nbformat.read(hw.master, as_version=4)
    files = [GeneratedFile(hw.stub, nbformat.writes(make_stub(master)) + "\n")]
    if hw.public_tests.exists():
        header = PUBLIC_HEADER.format(slug=hw.slug, id=hw.id)
        files.append(
            GeneratedFile(
                hw.assignment_dir / "public_tests.py", header + hw.public_tests.read_text()
            )
        )
    return files


def write_assignment(hw: Homework) -> list[Path]:
    written = []
    for f in generated_files(hw):
        f.path.parent.mkdir(parents=True, exist_ok=True)
        if not f.path.exists() or f.path.read_text() != f.text:
            f.path.write_text(f.text)
            written.append(f.path)
    return written


def check_assignment(hw: Homework) -> list[str]:
    """Problems: generated files that are missing or differ from what the master gives."""
    problems = []
    for f in generated_files(hw):
        if not f.path.exists():
            problems.append(f"{f.path} is missing")
        elif f.path.read_text() != f.text:
            problems.append(f"{f.path} is out of date with {hw.master.name}")
    return problems
