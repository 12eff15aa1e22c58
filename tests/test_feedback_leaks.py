"""No hidden test's code reaches the student's feedback, whichever way each test fails (issue #8).

Feedback may carry a test's own message, never its code: pytest's assertion rewriting would turn a
failed `assert isinstance(result, (tuple, list)) and len(result) == 2` into that very expression.
The test grades submissions whose functions are wrong in plain ways (None, text, dicts, tuples,
arrays of the wrong shape, exceptions, a theta nudged the wrong way) until EVERY hidden test has
failed at least once, and looks for each hidden test's code in everything the student sees.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from dlhw.autograder.homeworks import Homework

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
from conftest import notebook_from_cells  # noqa: E402
from corpus_kit import every_function, with_functions  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]

WRONG_BODIES = [
    "return None",
    "raise ValueError('wrong')",
    "return 'text'",
    "return {'a': 1}",
    "return (1.0, 2.0)",
    "return np.zeros((3, 3))",
    "return np.float64('nan')",
    "return [True, False]",
]
WRONG_EPOCH = {
    "softmax_regression_epoch": (
        "def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):\n    theta -= 0.01"
    ),
    "softmax_regression_grad": (
        "def softmax_regression_grad(X, y, theta):\n    return np.ones_like(theta)"
    ),
}


def code_fragments(path: Path) -> set[str]:
    """What of a test file must never be shown: every assert's expression and every line of code
    or comment (20 characters or more), but strings, which are the test's own messages and names."""
    source = path.read_text()
    tree = ast.parse(source)
    fragments = set()
    string_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            segment = ast.get_source_segment(source, node.test) or ""
            if len(segment) >= 10:
                fragments.add(segment)
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and isinstance(
            getattr(node, "value", ""), (str, list)
        ):
            string_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip().lstrip("#").strip()
        if len(text) >= 20 and (number not in string_lines or line.strip().startswith("#")):
            fragments.add(text)
    return fragments


def test_no_hidden_test_code_in_any_feedback(hw1: Homework, grade_nb) -> None:
    fragments = set().union(*(code_fragments(p) for p in hw1.hidden_tests))
    assert len(fragments) > 100  # the test files were read
    failed_once: set[str] = set()
    texts: list[str] = []
    for body in WRONG_BODIES:
        outcome = grade_nb(notebook_from_cells(with_functions(**every_function(body))))
        texts.append(outcome.results["output"])
        for t in outcome.results["tests"]:
            texts.append(t["output"])
            if t["status"] != "passed":
                failed_once.add(t["name"])
    outcome = grade_nb(notebook_from_cells(with_functions(**WRONG_EPOCH)))
    texts += [outcome.results["output"]] + [t["output"] for t in outcome.results["tests"]]
    failed_once |= {t["name"] for t in outcome.results["tests"] if t["status"] != "passed"}

    names = {t["name"] for t in outcome.results["tests"]}
    assert failed_once == names, f"never failed: {sorted(names - failed_once)}"
    leaks = sorted({f for f in fragments for text in texts if f in text})
    assert leaks == [], leaks
    assert not any(
        ln.lstrip().startswith(("assert ", "+ where")) for t in texts for ln in t.splitlines()
    )
