"""Shared fixtures: building notebooks, grading them in-process, and checking every results file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from dlhw.autograder.confinement import Limits
from dlhw.autograder.grading import GradeOutcome, grade
from dlhw.autograder.homeworks import Homework, course_root, get_homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.results import validate

REPO = course_root()
SHARED = REPO.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    """DLHW_TEST_FORK_SERVER=1: every worker of the run is forked by a fork server, as in a batch
    job (forkserver.py); `make test` runs the isolation tests once more that way."""
    if os.environ.get("DLHW_TEST_FORK_SERVER") == "1":
        from dlhw.autograder.confinement import start_fork_server

        note = start_fork_server()
        config.stash[FORK_SERVER_NOTE] = note
        if note != "fork server: started" and os.geteuid() == 0:
            raise pytest.UsageError(f"DLHW_TEST_FORK_SERVER=1, but {note}")


@pytest.fixture(autouse=True)
def _the_fork_server_stays() -> object:
    """In a fork-server run, a test after which the run's server has ended fails, and the
    server is started again: the tests after it would have exec'd their workers, silently (the
    job's fallback), and checked isolation without the forked workers the run is for."""
    yield
    if os.environ.get("DLHW_TEST_FORK_SERVER") != "1" or os.geteuid() != 0:
        return
    from dlhw.autograder import forkserver
    from dlhw.autograder.confinement import start_fork_server

    server = forkserver._current
    if server is None or server.gone or server.proc.poll() is not None:
        forkserver._current = None
        note = start_fork_server()
        pytest.fail(f"the run's fork server ended during this test (then {note})")


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash.get(FORK_SERVER_NOTE, None)


FORK_SERVER_NOTE = pytest.StashKey[str]()
# Short limits keep runaway cases fast in CI; still far above what correct hw1 code needs.
FAST_LIMITS = Limits(call_timeout_s=5.0, cell_timeout_s=5.0, run_timeout_s=90.0)


@pytest.fixture(scope="session")
def hw1() -> Homework:
    return get_homework("hw1")


def notebook_from_cells(cells: list[str | tuple[str, list[str]]]) -> nbformat.NotebookNode:
    """A v4 notebook from code-cell sources; a (source, tags) tuple sets the cell's tags."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {}))
    return nb


def reference_source(hw: Homework) -> list[str]:
    """The graded (untagged) code cells of the master notebook."""
    return [c.source for c in graded_cells(hw.master).cells]


@pytest.fixture
def grade_nb(tmp_path: Path, hw1: Homework) -> Callable[..., GradeOutcome]:
    """Grade a notebook (NotebookNode, or a path) for hw1; the results file is schema-checked."""

    def run(
        nb: nbformat.NotebookNode | Path, limits: Limits = FAST_LIMITS, hw: Homework = hw1
    ) -> GradeOutcome:
        if isinstance(nb, Path):
            path = nb
        else:
            path = tmp_path / hw.notebook_name
            nbformat.write(nb, path)
        out = tmp_path / "results" / "results.json"
        outcome = grade(hw, path, out, limits=limits)
        written = json.loads(out.read_text())
        validate(written)  # every results file produced in the tests validates
        assert written == outcome.results
        return outcome

    return run


def failed_tests(outcome: GradeOutcome) -> set[str]:
    return {t["name"] for t in outcome.results["tests"] if t["status"] != "passed"}
