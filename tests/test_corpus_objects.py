"""Every hostile-object case (tests/corpus/cases_objects.py) graded against the object-test
fixture homework (tests/objects_hw), each with its expected outcome.

As for the homework-1 corpus (test_corpus.py, whose machine checks this reuses), the grader must:
finish within a bound; write a valid results file; give exactly the points the untouched work
earned (the tests that must fail are named by parts of their names); tell the student what
happened; and leave no process, file or IPC object of the sandbox uid, no child of ours, and the
decoy folder untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import dlhw.autograder.grading as grading
from dlhw.autograder.confinement import SCRATCH_ROOTS, Limits
from dlhw.autograder.grading import GradeOutcome, grade
from dlhw.autograder.results import validate
from dlhw.autograder.session import Session
from test_corpus import (
    GRADER_FOLDERS,
    ISOLATED,
    files_of,
    grader_files,
    ipc_objects_of,
    our_children,
    processes_of,
)

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE / "corpus"), str(HERE / "objects_hw")]
import build_corpus  # noqa: E402
from corpus_kit import MARK, Context, notebook, write_upload  # noqa: E402
from objects_fixture import CLASSES, HIDDEN_TESTS, HOMEWORK, reference_cells  # noqa: E402

pytestmark = [pytest.mark.slow]

LIMITS = Limits(call_timeout_s=2.0, cell_timeout_s=3.0, run_timeout_s=90.0)

LINEAR = ("Linear(4, 3)", "Linear: forward and backward")
SEQ = ("Sequential(",)
GRADS = ("Value: c = a", "Value: numbers on the left", "Value: a node used twice", "Value.tanh")
CHAIN = ("chain of 10,000",)
TOPO = ("topo_sort",)
ALL = ("",)  # every test's name contains ""


@dataclass(frozen=True)
class Expect:
    message: str  # what the student is told (top-level output or a test's output)
    failed: tuple[str, ...] = ()  # the tests whose names contain one of these fail; others pass
    seconds: float = 30.0
    hostile: bool = False  # attacks the machine: run only with the uid sandbox


EXPECTED: dict[str, Expect] = {
    "getattr_answers_everything": Expect("returned something the grader cannot accept", LINEAR + SEQ),
    "getattribute_fakes_grad": Expect("a.grad", GRADS + CHAIN),
    "forward_returns_self": Expect("but it is Linear", LINEAR[1:] + SEQ),
    "ten_million_node_graph": Expect("Value.tanh", ("Value.tanh",)),
    "reference_cycles": Expect("code cells ran"),
    "result_contains_itself": Expect("nested deeper than", GRADS + CHAIN + TOPO),
    "class_spoofing": Expect("neither plain data", GRADS[:3] + TOPO),
    "init_forks": Expect("code cells ran", hostile=True),
    "init_hangs": Expect("did not return within the time limit", LINEAR + SEQ, seconds=45),
    # Releasing the 10,000-node chain runs 10,000 finalizers of 5 ms each (50 s): that test's
    # teardown times out on any machine.
    "del_side_effects": Expect("__del__ could not signal the grader", CHAIN, hostile=True),
    "del_hangs": Expect("releasing this test's objects", GRADS + CHAIN + TOPO, seconds=60),
    "forged_reference_ids": Expect("never issued", ALL),
    "methods_change_between_calls": Expect("grad is 0, expected", GRADS[1:] + CHAIN),
    "backward_runs_forever": Expect("did not return within", GRADS + CHAIN, seconds=60),
    "pow_returns_generator": Expect("returned a generator, not a value", GRADS[:2]),
    "eq_always_true": Expect("c.data is -24, expected -2", GRADS[:3]),
    "dunder_traps": Expect("code cells ran"),
    "data_is_a_trick_number": Expect("neither plain data", ("Value: c = a", "numbers on the left", "Value.tanh")),
    # A list subclass travels as a plain list of its items: its huge __len__ is never asked.
    "huge_len_list": Expect("code cells ran"),
    "node_class_per_operation": Expect("code cells ran"),
    "ten_million_item_result": Expect("more than 100000 items", LINEAR[1:] + SEQ),
}  # fmt: skip


def test_every_object_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(build_corpus.OBJECT_BY_NAME)
    assert len(EXPECTED) >= 15


@pytest.fixture(scope="module")
def reference_entries() -> list[tuple[str, float]]:
    """(name, points) of every test, from grading the reference (which must earn them all)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / HOMEWORK.notebook_name
        nbformat.write(notebook(reference_cells()), path)
        outcome = grade(HOMEWORK, path, Path(tmp) / "r.json", LIMITS, HIDDEN_TESTS, classes=CLASSES)
    assert outcome.score == outcome.max_score > 10, outcome.results["output"]
    return [(t["name"], t["max_score"]) for t in outcome.results["tests"]]


@pytest.fixture(scope="module")
def decoy() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="dlhw-objects-decoy-"))
    (folder / "victim.txt").write_text("untouched")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_object_case(
    name: str,
    tmp_path: Path,
    reference_entries: list[tuple[str, float]],
    decoy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expect = EXPECTED[name]
    if expect.hostile and not ISOLATED:
        pytest.skip("hostile cases need the uid sandbox (run as root, without DLHW_SANDBOX)")
    results = tmp_path / "results" / "results.json"
    ctx = Context(results_path=str(results), decoy_dir=str(decoy), shared_scratch="/tmp")
    upload = write_upload(build_corpus.OBJECT_BY_NAME[name], ctx, tmp_path)
    sessions: list[Session] = []

    class RecordedSession(Session):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            sessions.append(self)

    monkeypatch.setattr(grading, "Session", RecordedSession)
    children = our_children()
    start = time.monotonic()
    outcome = grade(HOMEWORK, upload, results, LIMITS, HIDDEN_TESTS, classes=CLASSES)
    elapsed = time.monotonic() - start

    written = json.loads(results.read_text())
    validate(written)
    assert written == outcome.results
    assert elapsed <= expect.seconds, f"grading took {elapsed:.1f} s"

    # Exactly the points the untouched work earned, test by test.
    entries = outcome.results["tests"]
    assert [(t["name"], t["max_score"]) for t in entries] == reference_entries
    must_fail = [any(part in t["name"] for part in expect.failed) for t in entries]
    failed = [t["status"] != "passed" for t in entries]
    assert failed == must_fail, _feedback(outcome)
    earned = [p for (_, p), bad in zip(reference_entries, must_fail, strict=True) if not bad]
    assert outcome.score == sum(earned)
    assert not any("The autograder could not run" in t["output"] for t in entries)

    visible = [outcome.results["output"]] + [t["output"] for t in entries]
    assert any(expect.message in text for text in visible), _feedback(outcome)

    # Nothing left behind.
    assert our_children() <= children
    assert sorted(os.listdir(decoy)) == ["victim.txt"]
    for session in sessions:
        assert not session.workdir.exists()
        uid = session.identity.uid
        if uid is not None:
            assert processes_of(uid) == []
            assert files_of(uid, [*SCRATCH_ROOTS, str(decoy), *map(str, GRADER_FOLDERS)]) == []
            assert ipc_objects_of(uid) == []
    for path in grader_files():
        assert MARK not in path.read_text(errors="replace"), f"{path} was written to"


def _feedback(outcome: GradeOutcome) -> str:
    lines = [outcome.results["output"][:2000]]
    lines += [f"{t['name']}: {t['status']}: {t['output'][:300]}" for t in outcome.results["tests"]]
    return "\n".join(lines)
