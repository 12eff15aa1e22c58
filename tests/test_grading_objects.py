"""Grading with objects: the fixture homework end to end, through `grade` and the reporter.

The reference earns every point; a test author's mistake is reported as the grader's, not the
student's; each test's objects are released when it ends; and the worker never imports the
grader's side (tests, reporter, pytest) during a real grading run."""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import nbformat

from conftest import notebook_from_cells
from dlhw.autograder.grading import grade
from dlhw.autograder.reporter import GRADER_ERROR
from dlhw.autograder.results import validate

sys.path.insert(0, str(Path(__file__).parent / "objects_hw"))
from objects_fixture import CLASSES, HIDDEN_TESTS, HOMEWORK, reference_cells  # noqa: E402

HELPERS = """
import sys


def modules():
    return sorted(sys.modules)


def objects_held():
    import gc
    from dlhw.autograder.worker.object_table import ObjectTable

    gc.unfreeze()  # the worker freezes the objects that predate the tests
    return sum(len(o.objects) for o in gc.get_objects() if type(o) is ObjectTable)
"""

AUTHOR_MISTAKES = '''
import numpy as np
import pytest

GRADER_SIDE = {
    "pytest", "_pytest", "pluggy", "dlhw.autograder.submission", "dlhw.autograder.remote", "dlhw.autograder.proxies",
    "dlhw.autograder.reporter", "dlhw.autograder.grading", "dlhw.autograder.checks",
    "dlhw.autograder.session", "dlhw.autograder.results", "dlhw.autograder.blame",
    "dlhw.autograder.cli", "dlhw.autograder.homeworks", "dlhw.autograder.notebook",
    "objects_fixture", "hidden_tests", "test_author", "torch",
}


def test_undeclared_member(sub):
    """uses an undeclared attribute"""
    sub.Linear(2, 2).X


def test_unsendable_argument(sub):
    """passes a set"""
    sub.Linear(2, 2).forward({1, 2})


def test_makes_objects(sub):
    """makes objects"""
    v = sub.Value(1.0)
    assert sub.objects_held() >= 1 and v.data == 1.0


def test_objects_were_released(sub):
    """the previous test's objects are gone"""
    assert sub.objects_held() == 0


def test_worker_modules(sub):
    """the worker has not imported the grader's side"""
    sub.Value(2.0).backward()
    loaded = set(sub.modules())
    assert "dlhw.autograder.worker.object_table" in loaded
    assert not loaded & GRADER_SIDE, sorted(loaded & GRADER_SIDE)
'''


def run(tmp_path: Path, cells: list[str], tests: list[Path], functions: tuple[str, ...], **kw):
    path = tmp_path / HOMEWORK.notebook_name
    nbformat.write(notebook_from_cells(cells), path)
    out = tmp_path / "results" / "results.json"
    hw = replace(HOMEWORK, functions=functions)
    outcome = grade(hw, path, out, tests=tests, **kw)
    validate(json.loads(out.read_text()))
    return outcome


def test_the_reference_earns_every_point(tmp_path):
    """With the classes from the homework's manifest tables (Homework.classes), as `grade` does
    by default."""
    outcome = run(tmp_path, reference_cells(), HIDDEN_TESTS, HOMEWORK.functions)
    assert outcome.score == outcome.max_score >= 10, outcome.results


def test_a_malformed_class_table_is_the_graders_failure(tmp_path):
    bad = replace(HOMEWORK, classes={"Value": {"method": ["backward"]}})
    path = tmp_path / HOMEWORK.notebook_name
    nbformat.write(notebook_from_cells(reference_cells()), path)
    outcome = grade(bad, path, tmp_path / "r.json", tests=HIDDEN_TESTS)
    assert "The autograder failed" in outcome.results["output"]
    assert "unknown keys ['method']" in outcome.staff_log


def test_test_author_mistakes_are_the_graders_and_objects_are_released(tmp_path):
    tests = tmp_path / "test_author.py"
    tests.write_text(textwrap.dedent(AUTHOR_MISTAKES))
    functions = ("topo_sort", "modules", "objects_held")
    outcome = run(tmp_path, [*reference_cells(), HELPERS], [tests], functions, classes=CLASSES)
    by_name = {t["name"]: t for t in outcome.results["tests"]}
    for name in ("uses an undeclared attribute", "passes a set"):
        assert GRADER_ERROR in by_name[name]["output"], by_name[name]
        assert "not in your work" in by_name[name]["output"]
    assert "could not run 2 test(s) because of a mistake in the tests" in outcome.results["output"]
    assert "GRADER ERRORS" in outcome.staff_log
    for name in ("makes objects", "the previous test's objects are gone"):
        assert by_name[name]["status"] == "passed", by_name[name]
    check = by_name["the worker has not imported the grader's side"]
    assert check["status"] == "passed", check["output"]


HIDDEN_MISTAKE = """
import pytest
from dlhw.autograder.blame import GraderError


def test_visible(sub):
    \"\"\"a visible test with a mistake\"\"\"
    raise GraderError("the author's mistake")


@pytest.mark.visibility("hidden")
def test_hidden(sub):
    \"\"\"softmax_loss breaks ties by the lowest index\"\"\"
    raise GraderError("the author's mistake")


@pytest.mark.visibility("after_due_date")
def test_later(sub):
    \"\"\"softmax_loss of one-hot logits\"\"\"
    raise GraderError("the author's mistake")
"""


def test_the_summary_names_no_hidden_test_that_the_grader_could_not_run(tmp_path):
    """The summary (always visible) named every test a mistake of the author's stopped,
    hidden and after_due_date ones included: their names, which say what they check, reached
    students before the due date. Only visible tests are named; staff see every name."""
    tests = tmp_path / "test_mistakes.py"
    tests.write_text(HIDDEN_MISTAKE)
    outcome = run(tmp_path, reference_cells(), [tests], HOMEWORK.functions)
    output = outcome.results["output"]
    assert "could not run 3 test(s) because of a mistake in the tests" in output, output
    assert "a visible test with a mistake and 2 not shown to you yet." in output, output
    assert "ties" not in output and "one-hot" not in output, output
    assert "ties by the lowest index" in outcome.staff_log
