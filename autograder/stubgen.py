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

import ast
import copy
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat

from dlhw.autograder.homeworks import Homework
from dlhw.autograder.notebook import SKIP_TAG
from dlhw.autograder.selfcheck import functions_used

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
PUBLIC_HEADER = (
    "# Public tests for {slug}: generated from the course's master copy by `make assignments`.\n"
    "# Check your notebook with:  python selfcheck.py {slug}.ipynb\n"
    "# (or, where the course package is installed:  autograder check {id} {slug}.ipynb)\n"
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


def make_stub(
    master: nbformat.NotebookNode, checked: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """The student's notebook: solutions stripped, and after the cell that defines each name in
    `checked`, a self-check cell (tagged skip-grading: the grader never runs it)."""
    stub = copy.deepcopy(master)
    cells = []
    for index, cell in enumerate(stub.cells):
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        cell.source = strip_solutions(cell.source, where=f"cell {index + 1}")
        cell.outputs = []
        cell.execution_count = None
        cells += [self_check_cell(name) for name in checked if name in defined_names(cell.source)]
    if checked:
        cells.append(self_check_cell(None))
    stub.cells = cells
    return stub


def defined_names(source: str) -> set[str]:
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython syntax: no definitions of ours in such a cell
        return set()
    return {n.name for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef)}


def self_check_cell(name: str | None) -> nbformat.NotebookNode:
    """`check("name")` (or `check()` for every public test), with a stable cell id."""
    call = f'check("{name}")' if name else "check()  # every public test"
    comment = "# Check your work: the public tests" + (f" of {name}" if name else "")
    cell = nbformat.v4.new_code_cell(
        f"{comment} (see selfcheck.py).\nfrom selfcheck import check\n\n{call}",
        metadata={"tags": [SKIP_TAG]},
    )
    cell.id = f"selfcheck-{name or 'all'}"
    return cell


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    text: str


def generated_files(hw: Homework) -> list[GeneratedFile]:
    master = nbformat.read(hw.master, as_version=4)
    files = [
        GeneratedFile(hw.stub, nbformat.writes(make_stub(master, self_checked(hw))) + "\n"),
        GeneratedFile(hw.assignment_dir / "selfcheck.py", selfcheck_source()),
    ]
    if hw.public_tests.exists():
        header = PUBLIC_HEADER.format(slug=hw.slug, id=hw.id)
        files.append(
            GeneratedFile(
                hw.assignment_dir / "public_tests.py", header + hw.public_tests.read_text()
            )
        )
    return files


def self_checked(hw: Homework) -> tuple[str, ...]:
    """The names that get a self-check cell: those some public test uses."""
    if not hw.public_tests.exists():
        return ()
    used = set().union(*functions_used(hw.public_tests.read_text(encoding="utf-8")).values())
    return tuple(name for name in hw.names if name in used)


def selfcheck_source() -> str:
    return resources.files("dlhw.autograder").joinpath("selfcheck.py").read_text(encoding="utf-8")


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
