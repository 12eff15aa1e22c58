"""Homework 1 graded end to end: partial work, missing functions, failing cells, the CLI.

(The reference earning every point and the stub none is checked for every homework in
test_homeworks.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap

import pytest

from conftest import FAST_LIMITS, REPO, failed_tests, notebook_from_cells, reference_source
from dlhw.autograder.results import validate

# No torch marker: with recorded oracles a grading run needs no torch, so these also run under
# Python 3.10 without torch (.ci/py310.sh), as on Gradescope.


def test_partial_work_earns_partial_credit(grade_nb, hw1):
    """Reference loss, stub for everything else: only the loss tests pass."""
    stub = [c for c in reference_source(hw1)]
    master_cells = reference_source(hw1)
    from dlhw.autograder.stubgen import strip_solutions

    stub = [strip_solutions(c) if "def softmax_loss" not in c else c for c in master_cells]
    outcome = grade_nb(notebook_from_cells(stub))
    passed = {t["name"] for t in outcome.results["tests"] if t["status"] == "passed"}
    assert passed and all("loss" in name for name in passed), passed
    assert 0 < outcome.score < outcome.max_score
    # The summary counts the failed tests by the function each calls, in the notebook's order
    # (every hw1 test is visible and calls one function: the rows add up to the points lost).
    lines = outcome.results["output"].splitlines()
    start = lines.index("Failed tests, by what they use (in the notebook's order):") + 1
    rows = [re.fullmatch(r"  (\w+): (\d+) of (\d+) tests failed \(([\d.]+) points?\)", ln)
            for ln in lines[start : start + 3]]  # fmt: skip
    assert all(rows), lines
    assert [r[1] for r in rows] == ["parse_mnist", "softmax_regression_grad",
                                    "softmax_regression_epoch"]  # fmt: skip
    assert all(r[2] == r[3] for r in rows)  # nothing of theirs passes
    assert sum(float(r[4]) for r in rows) == outcome.max_score - outcome.score
    assert sum(int(r[2]) for r in rows) == len(outcome.results["tests"]) - len(passed)


def test_failed_tests_by_name_tell_nothing_of_hidden_tests():
    from dlhw.autograder.grading import _with_failed_by_name
    from dlhw.autograder.reporter import TestEntry

    def entry(name, uses, status="failed", visibility="visible", grader_error=False):
        return TestEntry(name, name, "1", 2.0, visibility, (), status=status, uses=uses,
                         grader_error=grader_error)  # fmt: skip

    summary = "Graded nb.ipynb: 3 code cells ran.\nProblems while running your notebook: ..."
    entries = [
        entry("a", ("f",)), entry("b", ("f", "g"), status="passed"), entry("c", ("f", "g")),
        entry("d", ("h",), visibility="hidden"), entry("e", ("h",), visibility="after_due_date"),
        entry("x", ("k",), grader_error=True),
    ]  # fmt: skip
    assert _with_failed_by_name(summary, entries, ["h", "g", "f", "k"]).splitlines() == [
        "Graded nb.ipynb: 3 code cells ran.",
        "Failed tests, by what they use (in the notebook's order):",
        "  g: 1 of 2 tests failed (2 points)",
        "  f: 2 of 3 tests failed (4 points)",
        "Problems while running your notebook: ...",
    ]
    # Nothing failed that students see: the summary is left as it was.
    assert _with_failed_by_name(summary, entries[3:], ["f", "g", "h", "k"]) == summary


def test_failed_tests_by_name_leave_out_names_whose_own_tests_pass():
    """hw3 with a wrong Sequential and right modules: Sequential's tests, failing, use Linear
    too, and the summary's first row was "Linear: 8 of 21 tests failed", Linear's own tests all
    passing. A test counts for the names it uses whose own tests do not all pass; one whose
    names all pass their own tests still counts for each."""
    from dlhw.autograder.grading import _with_failed_by_name
    from dlhw.autograder.reporter import TestEntry

    def entry(name, uses, status="failed"):
        return TestEntry(name, name, "1", 1.0, "visible", (), status=status, uses=uses)

    summary = "Graded nb.ipynb: 3 code cells ran."
    entries = [
        entry("lin", ("Linear",), "passed"), entry("relu", ("ReLU",), "passed"),
        entry("seq", ("Sequential", "Linear", "ReLU")),
        entry("relu0", ("ReLU", "Value")), entry("value", ("Value",)),
        entry("both", ("Linear", "ReLU")),  # its names pass their own tests: counted for both
    ]  # fmt: skip
    assert _with_failed_by_name(summary, entries, ["Linear", "ReLU", "Sequential", "Value"]) == (
        "Graded nb.ipynb: 3 code cells ran.\n"
        "Failed tests, by what they use (in the notebook's order):\n"
        "  Linear: 1 of 3 tests failed (1 point)\n"
        "  ReLU: 1 of 4 tests failed (1 point)\n"
        "  Sequential: 1 of 1 tests failed (1 point)\n"
        "  Value: 2 of 2 tests failed (2 points)"
    )


def test_missing_function_is_named(grade_nb, hw1):
    cells = [c for c in reference_source(hw1) if "def parse_mnist" not in c]
    outcome = grade_nb(notebook_from_cells(cells))
    parse_tests = [t for t in outcome.results["tests"] if t["name"].startswith("parse_mnist")]
    assert parse_tests and all(
        "parse_mnist is not defined in your notebook" in t["output"] for t in parse_tests
    )
    assert failed_tests(outcome) == {t["name"] for t in parse_tests}


def test_a_renamed_function_is_pointed_to(grade_nb, hw1):
    cells = [c.replace("def parse_mnist(", "def parse_MNIST(") for c in reference_source(hw1)]
    outcome = grade_nb(notebook_from_cells(cells))
    parse_tests = [t for t in outcome.results["tests"] if t["name"].startswith("parse_mnist")]
    assert parse_tests and all(
        "Your notebook defines `parse_MNIST`: should it be named `parse_mnist`?" in t["output"]
        for t in parse_tests
    )


def test_a_renamed_function_is_not_pointed_to_a_cell_that_stopped_elsewhere(grade_nb, hw1):
    """A renamed parse_mnist and, elsewhere, a cell that fails after defining what it defines:
    the parse_mnist tests point to the rename, not to that cell, which never defined it; a
    name defined after the failing line is still pointed to the cell."""
    cells = [c.replace("def parse_mnist(", "def parse_MNIST(") for c in reference_source(hw1)]
    cells = [
        c
        if "def softmax_loss" not in c
        else c.replace("def softmax_loss", "1 / 0\ndef softmax_loss")
        for c in cells
    ]
    outcome = grade_nb(notebook_from_cells(cells))
    tests = outcome.results["tests"]
    parse_tests = [t for t in tests if t["name"].startswith("parse_mnist")]
    assert parse_tests, "the renamed function's tests did not fail"
    for test in parse_tests:
        assert "should it be named `parse_mnist`?" in test["output"], test
        assert "did not run to the end" not in test["output"], test
    loss_tests = [t for t in tests if "softmax_loss is not defined" in t["output"]]
    assert loss_tests and all("did not run to the end" in t["output"] for t in loss_tests)


def test_a_function_defined_again_in_a_later_cell_is_named_in_the_summary(grade_nb, hw1):
    """An old attempt pasted into a scratch cell below the real one: Jupyter used whichever ran
    last, the grader uses the scratch one, and the tests' feedback describes code the student
    believes fixed. The summary names the function and both cells; the reference has no line."""
    cells = reference_source(hw1)
    first = next(i for i, c in enumerate(cells) if "def softmax_loss" in c)
    old_try = "def softmax_loss(Z, y):\n    return 0.0  # my first try\n"
    outcome = grade_nb(notebook_from_cells([*cells, old_try]))
    assert outcome.score < outcome.max_score
    again = f"Defined in more than one graded cell: `softmax_loss` in cells {first + 1} and "
    assert f"{again}{len(cells) + 1}." in outcome.results["output"]
    assert "Defined in more than one" not in grade_nb(hw1.master).results["output"]


def test_pythons_warnings_about_a_cell_are_in_the_summary(grade_nb, hw1):
    """`mode is "fan_in"` compares identity: true for the literal a student passes in Jupyter,
    false for the string a test sends, and Python's SyntaxWarning, which Jupyter shows under the
    cell, was only in the run's output (hidden on Gradescope by default). The summary says it;
    a LaTeX escape in a docstring is no bug and is not said."""
    from dlhw.autograder.session import _cell_warnings

    warns = 'def pick(mode):\n    """$\\sigma$"""\n    return 1 if mode is "fan_in" else 2\n'
    cells = [*reference_source(hw1), warns]
    outcome = grade_nb(notebook_from_cells(cells))
    assert outcome.score == outcome.max_score
    output = outcome.results["output"]
    said = f'  - cell {len(cells)} (`def pick(mode):`), line 3: "is" with a literal.'
    assert "Python warned about your code" in output and said in output, output
    assert "escape" not in output, output
    assert "Python warned" not in grade_nb(hw1.master).results["output"]
    # Listed up to a cap of cells, and the rest counted (as cells with problems are).
    from dlhw.autograder.grading import MAX_LISTED_CELLS

    many = grade_nb(notebook_from_cells([*cells, *[warns] * (MAX_LISTED_CELLS + 1)]))
    output = many.results["output"]
    assert output.count('"is" with a literal') == MAX_LISTED_CELLS, output
    assert "  ... and 2 more cells with warnings" in output, output
    # What a worker says of its warnings is capped as the worker caps it (it may say anything).
    assert _cell_warnings("not a list") == ()
    assert _cell_warnings(["a" * 1000, 5, *["b"] * 10]) == ("a" * 300, "b", "b", "b")


def test_a_workers_warnings_cannot_add_lines_to_the_summary(grade_nb, hw1):
    """The worker's warnings are the submission's to forge (an earlier cell replaces
    warnings.catch_warnings): one with newlines printed lines in the summary that read as the
    grader's ('TOTAL 33/33' at the margin). Each is one line, as Python's own are."""
    forge = (
        "import warnings\n"
        "class Forged:\n"
        "    def __init__(self, record=False): pass\n"
        "    def __enter__(self):\n"
        "        class W: lineno, category, message = 1, SyntaxWarning, 'x\\nTOTAL 33/33\\n'\n"
        "        return [W()] * 50\n"
        "    def __exit__(self, *exc): pass\n"
        "warnings.catch_warnings = Forged\n"
    )
    outcome = grade_nb(notebook_from_cells([*reference_source(hw1), forge, "x = 1"]))
    output = outcome.results["output"]
    assert "line 1: x TOTAL 33/33" in output, output
    assert not any(line.startswith("TOTAL") for line in output.splitlines()), output


def test_a_cell_that_raises_is_reported_and_the_rest_still_runs(grade_nb, hw1):
    cells = ["X_tr, y_tr = parse_mnist('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')"]
    outcome = grade_nb(notebook_from_cells(reference_source(hw1) + cells))
    assert outcome.score == outcome.max_score
    assert "FileNotFoundError" in outcome.results["output"]
    assert "the other cells still ran" in outcome.results["output"]


def test_a_process_restarted_too_often_is_said_so_and_results_are_written(
    grade_nb, hw1, monkeypatch
):
    """Every crash restarts the worker; past session.MAX_RESTARTS the grader stops restarting
    it, and the cells and tests it could not run say so (not "crashed")."""
    import dlhw.autograder.session as session_module

    monkeypatch.setattr(session_module, "MAX_RESTARTS", 3)
    crashes = ["import os\nos._exit(1)"] * 5
    outcome = grade_nb(notebook_from_cells(crashes + reference_source(hw1)))
    assert outcome.score == 0
    assert (
        "was not run: the notebook's process was restarted too often" in outcome.results["output"]
    )
    assert all(
        "stopped restarting it" in t["output"]
        for t in outcome.results["tests"]
        if t["status"] != "passed"
    )


def test_a_run_leaves_the_collector_as_it_found_it(grade_nb, hw1, monkeypatch):
    """grade() holds the cyclic collector while the run starts and freezes what it built once
    the tests start; afterwards the collector is as it was, nothing stays frozen, and what the
    run froze is collected every COLLECT_EVERY_RUNS runs (a batch job grades hundreds)."""
    import gc
    import weakref

    from dlhw.autograder import grading

    class Node:
        pass

    def garbage_cycle() -> weakref.ref:
        node = Node()
        node.me = node  # freed by the collector only
        return weakref.ref(node)

    monkeypatch.setattr(grading, "COLLECT_EVERY_RUNS", 1)
    cycle = garbage_cycle()  # alive when the tests start: frozen with the rest, then collected
    grade_nb(hw1.master)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert cycle() is None
    unreadable = hw1.master.with_name("missing.ipynb")
    gc.disable()
    try:
        grade_nb(unreadable)  # no tests run: the collector stays held to the end
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_ctrl_c_as_the_collector_resumes_still_closes_and_writes(tmp_path, hw1, monkeypatch):
    """The collector resumes after the session is closed and the results are written: a Ctrl-C
    during its periodic full collection (every COLLECT_EVERY_RUNS runs) skips nothing."""
    import gc

    from dlhw.autograder import grading

    closed = []
    real_close = grading.Session.close

    def close(self):  # noqa: ANN001, ANN202
        closed.append(True)
        return real_close(self)

    def interrupted(enabled: bool) -> None:
        gc.unfreeze()
        gc.enable()
        raise KeyboardInterrupt

    monkeypatch.setattr(grading.Session, "close", close)
    monkeypatch.setattr(grading, "_collector_resumes", interrupted)
    out = tmp_path / "results.json"
    with pytest.raises(KeyboardInterrupt):
        grading.grade(hw1, hw1.master, out, limits=FAST_LIMITS)
    assert closed == [True]
    results = json.loads(out.read_text())
    validate(results)
    assert results["score"] == sum(t["max_score"] for t in results["tests"])


def test_cli_grades_and_writes_results(tmp_path, hw1):
    out = tmp_path / "results.json"
    cli = REPO / ".venv" / "bin" / "autograder"
    if not cli.exists():
        pytest.skip("console script not installed in .venv")
    run = subprocess.run(
        [str(cli), "grade", "hw1", str(hw1.master), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "TOTAL" in run.stdout
    results = json.loads(out.read_text())
    assert results["score"] == sum(t["max_score"] for t in results["tests"])


def test_a_grader_failure_still_writes_a_valid_results_file(grade_nb, hw1, monkeypatch):
    import dlhw.autograder.grading as grading

    def broken(*args, **kwargs):
        raise RuntimeError("pytest could not start")

    monkeypatch.setattr(grading, "run_tests", broken)
    outcome = grade_nb(hw1.master)
    names = [t["name"] for t in outcome.results["tests"]]
    assert names == ["Autograder failed", "Autograder failure details (staff only)"]
    hidden = outcome.results["tests"][1]
    assert hidden["visibility"] == "hidden" and "pytest could not start" in hidden["output"]
    assert outcome.score == 0


def test_magics_and_shell_escapes_do_not_break_grading(grade_nb, hw1):
    cells = [
        "%matplotlib inline\n!pip install numpy\nfiles = !ls",
        "%%bash\necho not python",
        *reference_source(hw1)[:-1],
        # Indented as a whole (pasted from a function's body): Jupyter runs it, and so must we.
        textwrap.indent(reference_source(hw1)[-1], "    "),
        "%%time\nz = 1",
        # The student's own failure, worded like the skip: still a problem, never "skipped".
        'class Skipped(Exception):\n    pass\nraise Skipped("its cell magic is not Python")',
    ]
    outcome = grade_nb(notebook_from_cells(cells))
    assert outcome.score == outcome.max_score, failed_tests(outcome)
    output = outcome.results["output"]
    assert "Skipped cells 2: their cell magics are not Python." in output, output
    assert f"cell {len(cells)} (`class Skipped(Exception):`) raised an exception" in output, output


@pytest.mark.skipif(
    os.geteuid() != 0 or os.environ.get("DLHW_SANDBOX") == "same-user",
    reason="uid separation needs root (and the uid sandbox on)",
)
def test_student_code_cannot_read_solutions_or_repository_history(grade_nb, hw1):
    probe = f"""
import os
def _try(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        return "read"
    except OSError as exc:
        return type(exc).__name__
PROBES = {{p: _try(p) for p in {[str(hw1.master), str(hw1.hidden_tests[0]), str(REPO / ".git"), str(REPO / ".git" / "objects")]!r}}}
def softmax_loss(Z, y):
    raise RuntimeError(repr(PROBES))
"""
    outcome = grade_nb(notebook_from_cells([*reference_source(hw1), probe]))
    loss_test = next(
        t for t in outcome.results["tests"] if t["name"].startswith("softmax_loss: a batch")
    )
    # Closed by permissions (PermissionError) or, in the worker's private view, absent.
    out = loss_test["output"]
    assert "'read'" not in out and ("PermissionError" in out or "FileNotFoundError" in out), out


@pytest.mark.parametrize("where", ["softmax_regression_grad", "softmax_regression_epoch"])
def test_a_function_that_never_returns_loses_what_one_that_raises_loses(grade_nb, hw1, where):
    """The time-out breaker changes what a hang costs, not the score: a function that loops
    forever fails exactly the tests that the same function failing at once (raising) fails,
    including the tests of functions that call it (the epoch calls the gradient); it costs about
    one full time-out, two short ones and no restart per later test."""
    args = "X, y, theta" if where == "softmax_regression_grad" else "X, y, theta, lr=0.1, batch=100"
    loops = f"def {where}({args}):\n    while True:\n        pass"
    raises = f"def {where}({args}):\n    raise RuntimeError('no')"
    hung = grade_nb(notebook_from_cells([*reference_source(hw1), loops]))
    failing = grade_nb(notebook_from_cells([*reference_source(hw1), raises]))

    assert failed_tests(hung) == failed_tests(failing) and failed_tests(hung)
    assert hung.score == failing.score
    outputs = [t["output"] for t in hung.results["tests"] if t["status"] != "passed"]
    assert any("so the grader stopped calling it in this run" in o for o in outputs)
    restarts = re.search(r"worker restarts: (\d+),", hung.staff_log)
    assert restarts is not None and 1 <= int(restarts.group(1)) <= 3  # not one per failed test


def test_a_traceback_shows_the_line_of_the_cell_that_raised(grade_nb, hw1):
    """As in Jupyter: the failing line itself, not only its number."""
    raises = (
        "def softmax_loss(Z, y):\n    B = Z.shape[0]\n    return float(Z[B, 0])  # off the end\n"
    )
    cells = [c if "def softmax_loss" not in c else raises for c in reference_source(hw1)]
    outcome = grade_nb(notebook_from_cells(cells))
    loss = [t for t in outcome.results["tests"] if t["name"].startswith("softmax_loss")]
    assert loss and all("return float(Z[B, 0])  # off the end" in t["output"] for t in loss)


def test_a_module_the_grader_lacks_is_explained(grade_nb, hw1):
    """An import of a library the grader has not installed says that NumPy is what there is, in
    the function's feedback and in the list of cells that failed."""
    missing = "import no_such_module_on_gradescope"
    imports = "def softmax_loss(Z, y):\n    " + missing + "\n"
    cells = [c if "def softmax_loss" not in c else imports for c in reference_source(hw1)]
    outcome = grade_nb(notebook_from_cells([*cells, missing]))
    loss = [t for t in outcome.results["tests"] if t["name"].startswith("softmax_loss")]
    hint = "with NumPy and Python's standard library only"
    assert loss and all(hint in t["output"] for t in loss)
    assert "No module named 'no_such_module_on_gradescope'" in outcome.results["output"]
    assert hint in outcome.results["output"]


def test_a_self_check_left_in_a_graded_cell_is_explained(grade_nb, hw1):
    """`from selfcheck import check` in the cell of a function (the handout's self-check, which
    the grader does not have) stops that cell: the feedback says to keep it in a skip-grading
    cell, not to "use NumPy instead"."""
    cells = [
        c if "def softmax_loss" not in c else "from selfcheck import check\n" + c
        for c in reference_source(hw1)
    ]
    outcome = grade_nb(notebook_from_cells(cells))
    assert "No module named 'selfcheck'" in outcome.results["output"]
    assert "selfcheck.py is for your own machine" in outcome.results["output"]
    assert "use NumPy instead" not in outcome.results["output"]


def test_a_test_failing_on_an_undefined_name_points_to_the_cell_that_stopped(grade_nb, hw1):
    """An imports cell that fails on a library the grader lacks, before `import numpy as np`:
    every function then fails on `np`, and each such test says which cell stopped early."""
    cells = reference_source(hw1)
    first = next(i for i, c in enumerate(cells) if "import numpy as np" in c)
    cells[first] = "import no_such_plotting_library\n" + cells[first]
    outcome = grade_nb(notebook_from_cells(cells))
    undefined = [t for t in outcome.results["tests"] if "is not defined" in t["output"]]
    assert undefined, "the cascade this test is about did not happen"
    pointer = (
        f"Cell {first + 1} (`import no_such_plotting_library`) did not run to the end, so what "
        "it defines after the line that failed does not exist"
    )
    assert all(pointer in t["output"] for t in undefined)
    # Only those: a test that failed for another reason gets no such line.
    assert not any(pointer in t["output"] for t in outcome.results["tests"] if t not in undefined)


def test_a_cell_stopped_for_time_is_said_to_be_left_out_whole(grade_nb, hw1):
    """A graded cell that defines softmax_loss, then trains past the cell limit: the worker
    starts again without the whole cell, so softmax_loss does not exist although it comes before
    the slow line. The feedback says so (not "after the line that failed"), and where the
    training belongs."""
    cells = reference_source(hw1)
    slow = next(i for i, c in enumerate(cells) if "def softmax_loss" in c)
    cells[slow] += "\n\nimport time\n\ntime.sleep(60)  # training, say\n"
    outcome = grade_nb(notebook_from_cells(cells))
    undefined = [t for t in outcome.results["tests"] if "is not defined" in t["output"]]
    assert undefined, "the cascade this test is about did not happen"
    for test in undefined:
        assert "was stopped and left out, so nothing it defines exists" in test["output"], test
        assert "after the line that failed" not in test["output"], test
    assert "did not finish in time" in outcome.results["output"]
    assert (
        "Keep slow code (training, experiments) in cells tagged skip-grading"
        in (outcome.results["output"])
    )


def test_ctrl_c_during_the_tests_interrupts_the_run(tmp_path, hw1):
    """pytest catches Ctrl-C and stops: the run is interrupted, not a grader failure whose
    message is pytest's last line ("11 passed in 2.83s")."""
    from dlhw.autograder.grading import grade

    tests = tmp_path / "test_ctrl_c.py"
    tests.write_text("def test_pressed(sub):\n    raise KeyboardInterrupt\n")
    out = tmp_path / "results.json"
    with pytest.raises(KeyboardInterrupt):
        grade(hw1, hw1.master, out, tests=[tests])
    results = json.loads(out.read_text())
    assert "the grading run was interrupted" in results["output"]


def test_a_grader_failure_in_the_cells_thread_fails_the_run_before_any_test(
    grade_nb, hw1, monkeypatch
):
    """The cells run while pytest collects the tests; what stops them is still the grader's
    failure, reported as such, and no test runs on a notebook that did not finish."""
    from dlhw.autograder.session import Session

    def broken(self, cells):
        raise RuntimeError("the cells thread broke")

    monkeypatch.setattr(Session, "run_cells", broken)
    outcome = grade_nb(hw1.master)
    names = [t["name"] for t in outcome.results["tests"]]
    assert names == ["Autograder failed", "Autograder failure details (staff only)"]
    assert "the cells thread broke" in outcome.results["tests"][1]["output"]
    assert outcome.score == 0


READY_TESTS = """
import os

COLLECTED = os.environ["DLHW_TEST_MARKER"]  # set when pytest imports this file (collection)


def test_first(sub):
    open(os.environ["DLHW_TEST_MARKER"], "a").write("ran\\n")
"""


def test_ready_runs_after_collection_and_before_the_first_test(tmp_path, monkeypatch):
    """run_tests' `ready` (grade waits there for the notebook's cells) sees the test files
    already imported, and no test has run yet."""
    import sys

    from dlhw.autograder.grading import run_tests
    from dlhw.autograder.submission import Submission

    marker = tmp_path / "marker"
    monkeypatch.setenv("DLHW_TEST_MARKER", str(marker))
    tests = tmp_path / "test_ready_probe.py"
    tests.write_text(READY_TESTS)
    seen = []

    def ready():
        imported = [m for m in sys.modules.values() if getattr(m, "COLLECTED", "") == str(marker)]
        seen.append((len(imported), marker.exists()))

    entries, _ = run_tests([tests], Submission(None, "no worker"), ready=ready)
    assert seen == [(1, False)]
    assert [e.status for e in entries] == ["passed"] and marker.read_text() == "ran\n"


@pytest.mark.parametrize("planted", ["conftest.py", "__init__.py"])
def test_nothing_is_imported_from_the_folders_above_the_tests(tmp_path, monkeypatch, planted):
    """With `-c /dev/null` pytest's cut was /dev: it imported conftest.py from every folder
    above the test files but /, and collected each of them holding an __init__.py as a package
    (importing it). With the course under /tmp (a local Gradescope root), a first cell that
    wrote /tmp/conftest.py or /tmp/__init__.py while pytest started had its code run as root in
    the grader (docs/attacks/plant_conftest.py). Neither is imported now."""
    from dlhw.autograder.grading import run_tests
    from dlhw.autograder.submission import Submission

    marker = tmp_path / "marker"
    monkeypatch.setenv("DLHW_TEST_MARKER", str(marker))
    import dlhw.autograder.grading as grading

    code = "import os\nopen(os.environ['DLHW_TEST_MARKER'] + '.planted', 'w').close()\n"
    (tmp_path / planted).write_text(code)  # the folder above the course: /tmp's place
    folder = tmp_path / "course" / "solutions" / "hw1_x" / "tests"
    folder.mkdir(parents=True)
    monkeypatch.setattr(grading, "course_root", lambda: tmp_path / "course")
    if planted == "conftest.py":
        (folder / planted).write_text(code)  # and the tests' own folder
    tests = folder / "test_ready_probe.py"
    tests.write_text(READY_TESTS)
    entries, _ = run_tests([tests], Submission(None, "no worker"))
    assert [e.status for e in entries] == ["passed"]
    assert not (tmp_path / "marker.planted").exists(), f"{planted} above the tests was imported"


def test_what_ready_raises_is_raised_and_no_test_runs(tmp_path, monkeypatch):
    from dlhw.autograder.grading import run_tests
    from dlhw.autograder.submission import Submission

    marker = tmp_path / "marker"
    monkeypatch.setenv("DLHW_TEST_MARKER", str(marker))
    tests = tmp_path / "test_ready_probe.py"
    tests.write_text(READY_TESTS)

    def ready():
        raise KeyError("cells failed")

    with pytest.raises(KeyError, match="cells failed"):
        run_tests([tests], Submission(None, "no worker"), ready=ready)
    assert not marker.exists()


def test_a_hidden_test_file_that_does_not_import_is_a_grader_failure(tmp_path, hw1):
    """pytest calls errors during collection "interrupted" too: a hidden test file that does not
    import is the grader's failure, with pytest's log for staff, never a Ctrl-C that ends the
    run (or, in a batch, the job and with it the batch)."""
    from dlhw.autograder.grading import grade

    broken = tmp_path / "test_broken.py"
    broken.write_text("import no_such_module_of_the_course\n\ndef test_x(sub):\n    pass\n")
    out = tmp_path / "results.json"
    outcome = grade(hw1, hw1.master, out, tests=[hw1.public_tests, broken])
    names = [t["name"] for t in outcome.results["tests"]]
    assert names == ["Autograder failed", "Autograder failure details (staff only)"]
    assert "no_such_module_of_the_course" in outcome.results["tests"][1]["output"]
    assert json.loads(out.read_text())["tests"][0]["name"] == "Autograder failed"


def test_a_test_file_that_ends_pytest_on_import_is_a_grader_failure(tmp_path, monkeypatch):
    """pytest.exit(returncode=0) while the tests are collected (an error during collection, as
    pytest sees it): no test ran, and that is the grader's failure, not a Ctrl-C."""
    from dlhw.autograder.grading import run_tests
    from dlhw.autograder.submission import Submission

    tests = tmp_path / "test_exits.py"
    tests.write_text(
        "import pytest\npytest.exit('bye', returncode=0)\n\ndef test_x(sub):\n    pass\n"
    )
    waited = []
    with pytest.raises(RuntimeError, match="pytest exited with"):
        run_tests([tests], Submission(None, "no worker"), ready=lambda: waited.append(1))
    assert not waited  # no test will run: grade closes the session without waiting for cells


def test_a_grader_failure_before_the_cells_are_handed_over_ends_the_cells_thread(
    grade_nb, hw1, monkeypatch
):
    """The cells thread starts the worker, then waits for the cells: a failure of the grader
    while it reads the notebook (anything but a NotebookError) must not leave it waiting for
    good, holding the closed session (a batch job grades submission after submission)."""
    import threading

    import dlhw.autograder.grading as grading
    from dlhw.autograder.session import Session

    started = threading.Event()
    live_generation = Session.live_generation

    def start(self):
        try:
            return live_generation(self)
        finally:
            started.set()

    def broken(path):
        started.wait(60.0)  # the worker is up: the thread now waits for the cells
        raise OSError("the disk went away")

    monkeypatch.setattr(Session, "live_generation", start)

    monkeypatch.setattr(grading, "graded_cells", broken)
    outcome = grade_nb(hw1.master)
    assert outcome.results["tests"][0]["name"] == "Autograder failed"
    assert "the disk went away" in outcome.results["tests"][1]["output"]
    for thread in threading.enumerate():
        if thread.name == "dlhw-cells":
            thread.join(10.0)
            assert not thread.is_alive(), "the cells thread still waits for cells"


def test_a_test_message_of_megabytes_is_cut(tmp_path, hw1):
    """A test that quotes a reply of megabytes in its message (`f"got {value!r}"`) gets it cut
    in the feedback and in pytest's log, whatever the test wrote."""
    from dlhw.autograder.grading import grade
    from dlhw.autograder.reporter import MAX_MESSAGE_CHARS

    tests = tmp_path / "test_quotes.py"
    tests.write_text(
        "def test_quotes(sub):\n"
        "    got = 'x' * 3_000_000\n"
        "    assert False, f'got {got!r}'\n"
        "def test_raises(sub):\n"
        "    raise TypeError('y' * 3_000_000)\n"
    )
    outcome = grade(hw1, hw1.master, tmp_path / "results.json", tests=[tests])
    for test in outcome.results["tests"]:
        assert test["status"] == "failed"
        assert MAX_MESSAGE_CHARS < len(test["output"]) < MAX_MESSAGE_CHARS + 2_000
        assert "more characters cut" in test["output"]
    # pytest's log shows each cut message once in its traceback and, where the CI variable is
    # set (pytest then leaves the short summary's lines whole), again in the summary; an
    # uncut one alone would be 3,000,000 characters.
    assert len(outcome.staff_log) < 2 * 7 * MAX_MESSAGE_CHARS + 20_000


def test_a_test_message_of_megabytes_is_cut_however_the_test_raises_it(tmp_path, hw1):
    """pytest.fail(f"got {value!r}"), an exception of two arguments, and one raised from (or while
    handling) another that quotes a reply of megabytes (`float(got)` failed), noted with it, or
    printed it: the feedback and pytest's log (which shows chained exceptions, notes and what a
    failed test printed) are cut too."""
    from dlhw.autograder.grading import grade
    from dlhw.autograder.reporter import MAX_MESSAGE_CHARS

    tests = tmp_path / "test_quotes.py"
    tests.write_text(
        "import pytest\n"
        "GOT = 'x' * 3_000_000\n"
        "def test_fails(sub):\n"
        "    pytest.fail(f'got {GOT!r}')\n"
        "def test_two_arguments(sub):\n"
        "    raise ValueError('got', GOT)\n"
        "def test_from(sub):\n"
        "    try:\n"
        "        float(GOT)\n"
        "    except ValueError as exc:\n"
        "        raise AssertionError('not a number') from exc\n"
        "def test_during(sub):\n"
        "    try:\n"
        "        float(GOT)\n"
        "    except ValueError:\n"
        "        raise AssertionError('not a number')\n"
        "def test_noted(sub):\n"
        "    exc = AssertionError('not a number')\n"
        "    exc.add_note(GOT)\n"
        "    raise exc\n"
        "def test_printed(sub):\n"
        "    print(GOT)\n"
        "    raise AssertionError('not a number')\n"
        "class Odd(Exception):\n"
        "    msg = property(lambda self: 'a message that cannot be set')\n"
        "def test_odd(sub):\n"
        "    raise Odd(GOT)\n"
    )
    outcome = grade(hw1, hw1.master, tmp_path / "results.json", tests=[tests])
    assert len(outcome.results["tests"]) == 7
    for test in outcome.results["tests"]:
        assert test["status"] == "failed"
        assert len(test["output"]) < MAX_MESSAGE_CHARS + 2_000, test["name"]
    assert "more characters cut" in outcome.results["tests"][0]["output"]
    # pytest's log shows each cut message once in its traceback and, where the CI variable is
    # set (pytest then leaves the short summary's lines whole), again in the summary; an
    # uncut one alone would be 3,000,000 characters.
    assert len(outcome.staff_log) < 2 * 7 * MAX_MESSAGE_CHARS + 20_000


def test_each_run_imports_the_test_files_afresh(tmp_path, hw1):
    """A batch job grades many submissions in one process, and pytest reuses a test module it
    imported before: what a test leaves in its module (here a list it appends to, and a setting
    it changes) must not reach the next run, which starts from the file as a run of its own."""
    from dlhw.autograder.grading import grade

    tests = tmp_path / "test_state.py"
    tests.write_text(
        "SEEN = []\nSETTINGS = {'lr': 0.1}\n\n"
        "def test_module_state_is_fresh(sub):\n"
        "    SEEN.append(sub.softmax_loss.__class__.__name__)\n"
        "    assert SEEN == ['RemoteFunction'] and SETTINGS == {'lr': 0.1}\n"
        "    SETTINGS['lr'] = 1.0\n"
    )
    for run in range(3):
        outcome = grade(hw1, hw1.master, tmp_path / f"r{run}.json", tests=[tests])
        assert [t["status"] for t in outcome.results["tests"]] == ["passed"], run


def test_test_modules_are_forgotten_however_their_path_is_spelt(tmp_path, monkeypatch):
    """A test file named through a link and `..` (as a relative --tests path may be) is found
    by pytest at os.path.abspath of that path: its module must be dropped before the next run,
    or what it kept reaches the next submission's run. The script that runs the grader is
    never dropped, though it sits beside the test file (a course's driver in the course root)."""
    import sys
    import types
    from pathlib import Path

    from dlhw.autograder.grading import _forget_test_modules

    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path / "real" / "sub")
    spelt = Path("../../link/sub/../test_state.py")  # pytest: <tmp>/link/test_state.py
    for name, file in [("tmp.link.test_state", tmp_path / "link" / "test_state.py"),
                       ("__main__", tmp_path / "real" / "grade_all.py")]:  # fmt: skip
        module = types.ModuleType(name)
        module.__file__ = str(file)
        monkeypatch.setitem(sys.modules, name, module)
    main = sys.modules["__main__"]
    _forget_test_modules([spelt])
    assert "tmp.link.test_state" not in sys.modules
    assert sys.modules["__main__"] is main


def test_another_homeworks_notebook_is_pointed_out(grade_nb, hw1):
    """hw2's notebook uploaded to hw1 scores what its own softmax_loss earns, and the summary
    asks whether it went to the wrong assignment; hw1's own notebook is not asked."""
    from dlhw.autograder.homeworks import get_homework

    hw2 = get_homework("hw2")
    wrong = grade_nb(hw2.stub)
    assert (
        "This notebook defines 5 of the 5 functions and classes hw2 (A two-layer network) asks "
        "for, and 1 of the 4 hw1 asks for: was it uploaded to the wrong assignment?"
    ) in wrong.results["output"].splitlines()[1]
    assert "wrong assignment" not in grade_nb(hw1.stub).results["output"]


def test_a_notebook_of_none_of_the_homeworks_names_is_asked_about_where_no_other_is_known(
    grade_nb, hw1, monkeypatch
):
    """On Gradescope the zip holds one homework, so no other's names can be compared: a notebook
    that defines none of this homework's functions and passes no test is asked whether it is
    this assignment's notebook. One that passes a test, or defines one of them, is not."""
    from dlhw.autograder import homeworks
    from dlhw.autograder.homeworks import get_homework

    monkeypatch.setattr(homeworks, "homeworks", lambda: [hw1])  # as in a Gradescope zip
    wrong = grade_nb(get_homework("hw3").stub)
    assert wrong.results["output"].splitlines()[1] == (
        "This notebook defines none of the functions and classes hw1 (Softmax regression on "
        "MNIST) asks for (parse_mnist, softmax_loss, softmax_regression_grad, "
        "softmax_regression_epoch): is it this assignment's notebook?"
    )
    helpers = notebook_from_cells(["import numpy as np\ndef helper(Z):\n    return np.log(Z)"])
    assert "this assignment's notebook" in grade_nb(helpers).results["output"]
    for fine in (hw1.stub, get_homework("hw2").stub):  # defines all / one of hw1's names
        assert "this assignment's notebook" not in grade_nb(fine).results["output"]


def test_a_notebook_whose_functions_the_tests_reached_is_not_asked_whether_it_is_this_assignments(
    grade_nb, hw1, monkeypatch
):
    """Definitions the source patterns miss (inside an `if`, `name: type = lambda`, `exec`), in a
    notebook that passes no test: the tests called its functions (they raised, or returned wrong
    values), so it is not told it defines none of them."""
    from dlhw.autograder import homeworks

    monkeypatch.setattr(homeworks, "homeworks", lambda: [hw1])  # as in a Gradescope zip
    in_an_if = notebook_from_cells(
        [
            'import numpy as np\nBACKEND = "numpy"\nif BACKEND == "numpy":\n'
            "    def parse_mnist(image_filename, label_filename):\n"
            "        return npy.zeros(3)\n"
            "    def softmax_loss(Z, y):\n        return npy.mean(Z)\n"
            "    def softmax_regression_grad(X, y, theta):\n        return npy.zeros(3)\n"
            "    def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):\n"
            "        return npy.zeros(3)"
        ]
    )
    odd = notebook_from_cells(
        [
            "import numpy as np\n"
            'softmax_loss: "Callable" = lambda Z, y: float(np.mean(Z))\n'
            "parse_mnist, softmax_regression_grad = (lambda a, b: 0), (lambda X, y, t: t)\n"
            'exec("def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):\\n  return 0")'
        ]
    )
    for notebook in (in_an_if, odd):
        outcome = grade_nb(notebook)
        assert outcome.score == 0
        assert "this assignment's notebook" not in outcome.results["output"]


def test_a_negative_loss_is_not_blamed_on_overflow(grade_nb, hw1):
    """A loss of the wrong sign is finite: the public large-logits test says a cross-entropy is
    never negative, not that exp() overflowed."""
    flipped = [
        c.replace("return float(np.mean(log_sum_exp - Z", "return float(np.mean(-log_sum_exp + Z")
        for c in reference_source(hw1)
    ]
    assert flipped != reference_source(hw1)
    outcome = grade_nb(notebook_from_cells(flipped))
    (test,) = [t for t in outcome.results["tests"] if "logits near 1000 is finite" in t["name"]]
    assert "never negative" in test["output"] and "overflows" not in test["output"]


def test_many_names_before_the_homeworks_own_do_not_hide_them(hw1):
    """The wrong-assignment line reads every cell for the names it compares: 5,000 settings
    before a notebook's functions (over the cap of defined_names) neither make a full hw2
    notebook that also holds hw1's functions look like hw1's, nor hide hw1's notebook."""
    from pathlib import Path

    from dlhw.autograder.grading import _another_homework
    from dlhw.autograder.homeworks import get_homework
    from dlhw.autograder.notebook import GradedCell, ReadNotebook

    def read(cells: list[str]) -> ReadNotebook:
        graded = tuple(GradedCell(i, source) for i, source in enumerate(cells))
        return ReadNotebook(Path("nb.ipynb"), graded, (), ())

    hw2 = get_homework("hw2")
    hw1_functions = [c for c in reference_source(hw1) if "def " in c]
    settings = "\n".join(f"SETTING_{i} = {i}" for i in range(5000))
    assert _another_homework(read([*hw1_functions, settings, *reference_source(hw2)]), hw2) == ""
    assert "4 of the 4 functions and classes hw1" in _another_homework(
        read([settings, *hw1_functions]), hw2
    )
