"""Recorded oracles: the mechanism on a small oracle module of its own, every homework's records
against live torch, and grading runs that need no torch at all."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import FAST_LIMITS
from dlhw.autograder import oracle_store
from dlhw.autograder.grading import grade
from dlhw.autograder.homeworks import Homework, homeworks
from dlhw.autograder.oracle_store import STORE_NAME, Store, StoreError
from dlhw.autograder.oracles import (
    Mode,
    OracleRun,
    OracleUnavailable,
    digest,
    lazy_import,
    oracle_run,
)
from dlhw.autograder.recording import needs_live_torch, record_oracles

TOY = """
import numpy as np
from dlhw.autograder.oracles import checked_against, oracle

CALLS = []
BIAS = 0.0  # tests change it to make records stale
FACTOR = 1.0  # tests change it to make the NumPy reference disagree


@oracle
def double(x, scale=2.0):
    CALLS.append("double")
    return np.asarray(x, dtype=np.float64) * scale + BIAS


@oracle
def pair(x):
    CALLS.append("pair")
    return (float(np.sum(x)), np.asarray(x) + 1)


@oracle
def needs_a_missing_module(x):
    import dlhw_no_such_module  # stands in for torch where it is not installed
    return 0.0


@oracle(live=True)
def always_live(x):
    CALLS.append("always_live")
    return float(np.max(x))


@checked_against(double)
def double_in_numpy(x, scale=2.0):
    return np.asarray(x, dtype=np.float64) * scale * FACTOR
"""


@pytest.fixture
def toy(tmp_path: Path) -> types.ModuleType:
    path = tmp_path / "test_toy.py"
    path.write_text(TOY)
    spec = importlib.util.spec_from_file_location(f"toy_{abs(hash(tmp_path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


X = np.arange(6, dtype=np.float64).reshape(2, 3) / 7


def record(toy: types.ModuleType, *calls: tuple[str, np.ndarray]) -> Path:
    folder = Path(toy.__file__).parent
    with oracle_run(OracleRun(Mode.RECORD)) as run:
        for name, arg in calls:
            getattr(toy, name)(arg)
    oracle_store.save(folder / STORE_NAME, run.recorded[folder], {"torch": "none"})
    toy.CALLS.clear()
    return folder / STORE_NAME


# ---- the mechanism -------------------------------------------------------------------------


def test_a_recorded_value_is_looked_up_without_running_the_oracle(toy):
    record(toy, ("double", X), ("pair", X))
    with oracle_run(OracleRun(Mode.RECORDED)) as run:
        doubled, (total, plus_one) = toy.double(X), toy.pair(X)
    assert toy.CALLS == [] and run.looked_up == 2 and run.live == []
    np.testing.assert_array_equal(doubled, 2 * X)  # recorded exactly: same process, same values
    assert isinstance(total, float) and total == float(np.sum(X))
    np.testing.assert_array_equal(plus_one, X + 1)
    doubled[0, 0] = 99.0  # a test may change what it got; the record stays as it was
    with oracle_run(OracleRun(Mode.RECORDED)):
        assert toy.double(X)[0, 0] == 0.0
    assert "2 recorded values used" in run.staff_note()


def test_other_inputs_have_no_record_and_are_computed_live_and_reported(toy):
    record(toy, ("double", X))
    with oracle_run(OracleRun(Mode.RECORDED)) as run:
        np.testing.assert_array_equal(toy.double(X.astype(np.float32)), 2 * X.astype(np.float32))
        toy.double(X, scale=3.0)
    assert toy.CALLS == ["double", "double"] and run.looked_up == 0
    note = run.staff_note()
    assert "2 needed live torch (no record)" in note
    assert "test_toy.double(float32[2, 3])" in note and "scale=3.0" in note
    assert "record-oracles" in note


def test_a_missing_record_without_torch_fails_the_test_and_tells_staff(toy):
    with oracle_run(OracleRun(Mode.RECORDED)) as run, pytest.raises(OracleUnavailable) as exc:
        toy.needs_a_missing_module(X)
    assert "could not be graded" in str(exc.value)
    assert "ORACLES UNAVAILABLE" in run.staff_note()
    assert "test_toy.needs_a_missing_module" in run.staff_note()


def test_a_damaged_store_counts_as_no_records_and_tells_staff_loudly(toy):
    path = record(toy, ("double", X))
    path.write_bytes(path.read_bytes()[:100])
    with oracle_run(OracleRun(Mode.RECORDED)) as run:
        np.testing.assert_array_equal(toy.double(X), 2 * X)
    assert toy.CALLS == ["double"]
    assert "ORACLE RECORDS DAMAGED: cannot read recorded oracles" in run.staff_note()


NEEDS_AN_ORACLE = """
import numpy as np
import pytest
from dlhw.autograder.oracles import oracle

@oracle
def expected_loss():
    import dlhw_no_such_module  # stands in for torch where it is not installed

@pytest.mark.points(3)
def test_loss(sub):
    assert sub.softmax_loss(np.zeros((1, 2)), np.array([0])) == expected_loss()
"""


def test_a_run_missing_an_expectation_is_the_graders_failure_not_a_zero(tmp_path, hw1):
    tests = tmp_path / "test_needs_an_oracle.py"
    tests.write_text(NEEDS_AN_ORACLE)
    outcome = grade(hw1, hw1.master, tmp_path / "results.json", limits=FAST_LIMITS, tests=[tests])
    names = [t["name"] for t in outcome.results["tests"]]
    assert names == ["Autograder failed", "Autograder failure details (staff only)"]
    assert "expected values of the tests are missing" in outcome.results["output"]
    assert "ORACLES UNAVAILABLE" in outcome.staff_log
    assert "test_needs_an_oracle.expected_loss" in outcome.staff_log


def test_verify_finds_stale_missing_and_unused_records(toy):
    record(toy, ("double", X), ("pair", X))
    toy.BIAS = 1e-14  # far below what a record may drift (STALE_RTOL): still agrees
    with oracle_run(OracleRun(Mode.VERIFY)) as run:
        toy.double(X)
        toy.pair(X)
    assert run.problems == [] and run.unused() == []

    toy.BIAS = 1e-6  # the oracle changed: its records are stale
    with oracle_run(OracleRun(Mode.VERIFY)) as run:
        np.testing.assert_allclose(toy.double(X), 2 * X + 1e-6)  # the live value is returned
        toy.double(X + 1)
    assert run.problems == [
        "stale record: test_toy.double(float64[2, 3])",
        "missing record: test_toy.double(float64[2, 3])",
    ]
    (unused,) = run.unused()
    assert "test_toy.pair:" in unused and "no test asked for it" in unused


def test_an_always_live_oracle_is_never_recorded_and_says_so(toy):
    with oracle_run(OracleRun(Mode.RECORD)) as run:
        assert toy.always_live(X) == X.max()
    assert run.recorded == {}
    with oracle_run(OracleRun(Mode.RECORDED)) as run:
        assert toy.always_live(X) == X.max()
    assert "test_toy.always_live (always live)" in run.staff_note()


def test_a_numpy_reference_is_checked_against_its_torch_oracle_only_when_verifying(toy):
    with oracle_run(OracleRun(Mode.RECORDED)):
        toy.double_in_numpy(X)
    assert toy.CALLS == []  # grading: NumPy only
    with oracle_run(OracleRun(Mode.VERIFY)) as run:
        toy.double_in_numpy(X)
    assert toy.CALLS == ["double"] and run.problems == []
    toy.FACTOR = 1.001
    with oracle_run(OracleRun(Mode.VERIFY)) as run:
        toy.double_in_numpy(X)
    assert run.problems == ["test_toy.double_in_numpy differs from double(float64[2, 3])"]


def test_digest_tells_apart_what_an_oracle_could_tell_apart():
    base = digest((X,), {})
    assert digest((X.copy(),), {}) == base
    variants = [
        ((X.astype(np.float32),), {}),
        ((X.reshape(3, 2),), {}),
        ((X.T.copy(),), {}),
        ((X,), {"scale": 2.0}),
        ((X, 1), {}),
        ((X, 1.0), {}),
        ((X, True), {}),
        (([X],), {}),
    ]
    assert len({base} | {digest(a, k) for a, k in variants}) == len(variants) + 1
    assert digest((X.T,), {}) == digest((X.T.copy(),), {})  # by value, whatever the layout
    for bad in (np.array([object()]), object(), {1, 2}):
        with pytest.raises(TypeError, match="oracle inputs"):
            digest((bad,), {})


def test_lazy_import_imports_on_first_public_attribute_only(tmp_path, monkeypatch):
    (tmp_path / "dlhw_lazy_probe.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lazy = lazy_import("dlhw_lazy_probe")
    with pytest.raises(AttributeError):
        lazy.__pytest_wrapped__  # what pytest probes on every module global  # noqa: B018
    assert "dlhw_lazy_probe" not in sys.modules
    assert lazy.VALUE == 42 and "dlhw_lazy_probe" in sys.modules
    monkeypatch.delitem(sys.modules, "dlhw_lazy_probe")


# ---- the file ------------------------------------------------------------------------------


def test_store_round_trip_is_deterministic_and_plain_data(toy):
    path = record(toy, ("double", X), ("pair", X))
    first = path.read_bytes()
    record(toy, ("pair", X), ("double", X))  # another order, the same values
    assert path.read_bytes() == first
    with zipfile.ZipFile(path) as zf:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
    with np.load(path, allow_pickle=False) as npz:
        index = json.loads(bytes(npz["__index__"]).decode())
        assert all(npz[name].dtype != object for name in npz.files)
    assert index["format"] == oracle_store.FORMAT and len(index["entries"]) == 2
    assert {e["inputs"] for e in index["entries"].values()} == {"float64[2, 3]"}


def test_a_damaged_or_pickled_store_is_a_clear_error(tmp_path):
    path = tmp_path / STORE_NAME
    path.write_bytes(b"not a zip")
    with pytest.raises(StoreError, match="cannot read recorded oracles"):
        oracle_store.load(path)
    np.savez(path, __index__=np.array([{"format": 1}], dtype=object))  # needs pickle to read
    with pytest.raises(StoreError, match="cannot read recorded oracles"):
        oracle_store.load(path)
    assert oracle_store.load(tmp_path / "absent.npz").entries == {}


def test_store_keeps_every_kind_dtype_and_shape(tmp_path):
    values = {
        "scalars": (2.5, 7, np.float32(1.5)),
        "arrays": (np.arange(6, dtype=np.float32).reshape(2, 3), np.array(True), np.zeros((0, 4))),
        "nested": ((np.arange(3, dtype=np.int64), (np.float64(-0.0),)), np.eye(2)[None]),
    }
    records = {k: (oracle_store.check_value(v, k), "inputs") for k, v in values.items()}
    path = tmp_path / STORE_NAME
    oracle_store.save(path, records, {"torch": "none"})
    loaded = oracle_store.load(path)
    for key, (value, _) in records.items():
        stored = loaded.entries[key]
        assert oracle_store.same_value(value, stored), key
        back, original = oracle_store.thaw(stored), oracle_store.thaw(value)
        flat_back = [back] if not isinstance(back, tuple) else list(_leaves(back))
        flat_original = [original] if not isinstance(original, tuple) else list(_leaves(original))
        assert [type(v) for v in flat_back] == [type(v) for v in flat_original]
        for a, b in zip(flat_back, flat_original, strict=True):
            if isinstance(a, np.ndarray):  # the same shape and dtype, 0-d arrays included
                assert (a.shape, a.dtype) == (b.shape, b.dtype) and np.array_equal(a, b)
            else:
                assert a == b


def _leaves(value):
    for v in value:
        if isinstance(v, tuple):
            yield from _leaves(v)
        else:
            yield v


def test_a_store_that_points_outside_its_pools_or_is_old_is_a_clear_error(tmp_path):
    path = tmp_path / STORE_NAME
    oracle_store.save(path, {"k": (oracle_store.check_value(np.ones(3), "k"), "")}, {})
    with np.load(path, allow_pickle=False) as npz:
        members = {name: npz[name] for name in npz.files}
    index = json.loads(bytes(members["__index__"]).decode())
    for value, message in (
        (["array", ["pool_f8", 1, [3]]], "outside its pool"),
        (["array", ["pool_f8", -1, [1]]], "outside its pool"),
        (["array", ["pool_c16", 0, [1]]], "bad value description"),
        (["array", 0], "bad value description"),
    ):
        index["entries"]["k"]["value"] = value
        members["__index__"] = np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)
        np.savez(path, **members)
        with pytest.raises(StoreError, match=message):
            oracle_store.load(path)
    index["format"] = 1
    members["__index__"] = np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)
    np.savez(path, **members)
    with pytest.raises(StoreError, match="record the oracles again"):
        oracle_store.load(path)


def test_oracle_results_must_be_numbers_or_numeric_arrays():
    for bad in ([1.0], {"a": 1.0}, "1.0", np.array(["a"]), None):
        with pytest.raises(TypeError, match="return a number, a numeric array"):
            oracle_store.check_value(bad, "f")


# ---- the homeworks -------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("hw", homeworks(), ids=[hw.id for hw in homeworks()])
def test_every_recorded_oracle_agrees_with_live_torch(hw: Homework):
    """CI's recomputation: a stale, missing or unused record fails (`make oracles` to fix)."""
    report = record_oracles(hw, check=True, limits=FAST_LIMITS)
    assert report.ok, "\n".join(report.problems) + "\n(run `make oracles` to record them again)"
    assert report.values > 0


@pytest.mark.torch
@pytest.mark.slow
def test_missing_records_are_computed_live_and_named_in_the_staff_log(hw1: Homework):
    folder = hw1.hidden_tests[0].parent
    run = OracleRun(Mode.RECORDED, stores={folder: Store(folder / STORE_NAME)})  # no records
    outcome = grade(hw1, hw1.master, None, limits=FAST_LIMITS, oracles=run)
    assert outcome.score == outcome.max_score
    assert run.looked_up == 0 and len(run.live) > 10
    assert f"{len(run.live)} needed live torch (no record)" in outcome.staff_log
    # The first ten are named, each with its arguments (then "..."): hw1's first is its loss.
    assert run.live[0].startswith("test_hidden.torch_loss(")
    assert ", ".join(run.live[:10]) + ", ..." in outcome.staff_log


PROBE_CELL = """
import sys

def torch_modules_loaded():
    return sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
"""

PROBE_TEST = """
import pytest

@pytest.mark.points(0)
def test_the_worker_has_not_imported_torch(sub):
    from dlhw.autograder.submission import RemoteFunction  # a probe, not a declared function

    loaded = RemoteFunction(sub, "torch_modules_loaded")()
    assert loaded == [], f"torch modules in the worker: {loaded[:5]}"
"""

# Grades every homework's reference (plus a probe cell and test) in a fresh process in which
# importing torch fails, then reports what that process and the worker loaded.
GRADE_WITHOUT_TORCH = """
import json, sys
from pathlib import Path

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name}: a grading run with recorded oracles must not import torch")

sys.meta_path.insert(0, NoTorch())

import nbformat
from dlhw.autograder.grading import grade
from dlhw.autograder.homeworks import homeworks

tmp = Path(sys.argv[1])
report = {}
for hw in homeworks():  # every homework's oracles are recorded (checked below)
    nb = nbformat.read(hw.master, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(sys.argv[2]))
    path = tmp / hw.id / hw.notebook_name
    path.parent.mkdir()
    nbformat.write(nb, path)
    outcome = grade(hw, path, None, tests=[hw.public_tests, *hw.hidden_tests, tmp / "test_probe.py"])
    report[hw.id] = {
        "failed": [t["name"] + ": " + t["output"] for t in outcome.results["tests"] if t["status"] != "passed"],
        "staff": outcome.staff_log[-2000:],
    }
report["grader_torch"] = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print(json.dumps(report))
"""


@pytest.mark.slow
def test_grading_with_recorded_oracles_imports_no_torch(tmp_path):
    """Neither the grader's process nor the worker imports torch (a probe in each)."""
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(PROBE_TEST))
    done = subprocess.run(
        [sys.executable, "-c", GRADE_WITHOUT_TORCH, str(tmp_path), textwrap.dedent(PROBE_CELL)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.pop("grader_torch") == []
    assert set(report) == {hw.id for hw in homeworks()}
    for hw_id, result in report.items():
        assert result["failed"] == [], (hw_id, result)
        assert "recorded values used" in result["staff"] and "live torch" not in result["staff"]


@pytest.mark.torch
@pytest.mark.slow
def test_cli_grades_with_recorded_or_live_oracles_and_checks_the_records(tmp_path, hw1, capsys):
    from dlhw.autograder.cli import main

    count = len(oracle_store.load(hw1.hidden_tests[0].parent / STORE_NAME).entries)
    out = str(tmp_path / "results.json")
    assert main(["grade", "hw1", str(hw1.master), "-o", out, "-v"]) == 0
    assert f"oracles (recorded): {count} recorded values used" in capsys.readouterr().out
    assert main(["grade", "hw1", str(hw1.master), "-o", out, "-v", "--live-oracles"]) == 0
    assert "oracles (live): computed with live torch" in capsys.readouterr().out
    assert main(["record-oracles", "hw1", "--check"]) == 0
    assert f"hw1: {count} recorded oracle values agree" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("source", "recorded", "needs"),
    [
        ("import numpy as np\n\ndef test_x(sub):\n    pass\n", False, False),
        ("@oracle\ndef expected(x):\n    return x\n", True, False),
        ("@oracle\ndef expected(x):\n    return x\n", False, True),  # nothing recorded
        ("@oracles.oracle\ndef expected(x):\n    return x\n", False, True),
        ("@oracle(live=True)\ndef expected(x):\n    return x\n", True, True),
        ("@oracle(live=False)\ndef expected(x):\n    return x\n", True, False),
        ("import torch\n", True, True),
        ("from torch.nn import functional as F\n", True, True),
    ],
)
def test_gradescope_needs_torch_only_where_a_test_needs_it_live(tmp_path, source, recorded, needs):
    hw = Homework("hw9", "hw9_probe", "probe", ("f",), root=tmp_path)
    (hw.solution_dir / "tests").mkdir(parents=True)
    (hw.solution_dir / "tests" / "test_probe.py").write_text(source)
    if recorded:
        oracle_store.save(hw.solution_dir / "tests" / STORE_NAME, {}, {})
    assert needs_live_torch(hw) is needs


def test_no_homework_needs_torch_on_gradescope():
    """Every homework's oracles are recorded: its Gradescope zip installs no torch."""
    for hw in homeworks():
        assert needs_live_torch(hw) is False, f"{hw.id}: record its oracles (make oracles)"
