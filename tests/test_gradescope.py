"""The Gradescope autograder, built and run here in a root laid out like Gradescope's.

`autograder gradescope` writes the zip; it is unpacked into ROOT/source, setup.sh installs the
grader into ROOT/dlhw-venv (as on Gradescope, minus apt and the PyTorch index, which this offline
machine lacks), and run_autograder grades ROOT/submission into ROOT/results/results.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from dlhw.autograder.gradescope import (
    BuildSettings,
    build_autograder_zip,
    local_env,
    prepare_submission,
    unpack,
)
from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.recording import needs_live_torch
from dlhw.autograder.results import validate
from dlhw.autograder.variants import load_variants, variant_notebook

HW = get_homework("hw1")


def test_the_zip_holds_only_what_grading_needs(tmp_path: Path) -> None:
    names = build_autograder_zip(HW, tmp_path / "a.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert sorted(archive.namelist()) == sorted(names)
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert {"setup.sh", "run_autograder", "grader.env", "Dockerfile"} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert any(n.startswith("course/solutions/hw1_softmax/tests/test_") for n in names)
    assert "course/solutions/hw1_softmax/tests/recorded_oracles.npz" in names  # no torch needed
    for name in names:  # no master notebook, no variants, no other homework, no test suite
        assert not name.endswith(".ipynb"), name
        assert not name.endswith("/hw1_softmax/variants.py"), name
        assert not name.startswith(("course/tests/", "course/.git", "course/benchmarks")), name
        assert not name.startswith("course/solutions/") or "/hw1_softmax/" in name, name
        assert "__pycache__" not in name and not name.endswith(".so"), name


def test_the_budget_must_end_before_gradescopes_timeout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least a minute"):
        build_autograder_zip(HW, tmp_path / "a.zip", BuildSettings(run_timeout_s=590))
    build_autograder_zip(HW, tmp_path / "b.zip", BuildSettings(run_timeout_s=120))
    env = zipfile.ZipFile(tmp_path / "b.zip").read("grader.env").decode()
    assert "DLHW_RUN_TIMEOUT=120" in env and "DLHW_HOMEWORK=hw1" in env


@pytest.mark.parametrize(
    "policy, message",
    [(None, "No such file"), ("syntax error(\n", "was never closed"), ("x = 1\n", "no apply")],
    ids=["missing", "syntax-error", "no-apply"],
)
def test_a_policy_that_does_not_load_fails_the_build_and_keeps_the_last_zip(
    tmp_path: Path, policy, message
) -> None:
    """Before, a policy with a syntax error went into the zip (every student's run would have
    skipped it), and a failed build left a partial zip over the previous one."""
    previous = tmp_path / "hw1.zip"
    build_autograder_zip(HW, previous)
    good = previous.read_bytes()
    path = tmp_path / "policy.py"
    if policy is not None:
        path.write_text(policy)
    with pytest.raises(ValueError, match=message):
        build_autograder_zip(HW, previous, BuildSettings(policy=path))
    assert previous.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["hw1.zip"] + (["policy.py"] if policy is not None else [])
    )


def test_the_dockerfile_uses_gradescopes_base_and_the_same_scripts() -> None:
    text = (REPO / "autograder" / "deploy" / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM gradescope/autograder-base" in text
    assert "setup.sh" in text and "/autograder/run_autograder" in text
    assert "CMD" not in text.replace("# CMD", "") and "ENTRYPOINT" not in text.replace(
        "CMD and ENTRYPOINT", ""
    )


HOSTILE = """
import os, sys
# Forge a perfect score where Gradescope reads results, then leave before any test runs.
for path in ("{results}", "/autograder/results/results.json"):
    try:
        with open(path, "w") as fh:
            fh.write('{{"score": 1000, "tests": []}}')
    except OSError:
        pass
os._exit(0)
"""


@pytest.fixture(scope="module")
def gradescope_root() -> Iterator[Path]:
    """A Gradescope-like root with the hw1 autograder set up in it (once for the module).

    Not under pytest's tmp_path, which is private to root: the sandbox uid must reach the
    grader's venv, as it reaches /autograder/dlhw-venv on Gradescope."""
    root = Path(tempfile.mkdtemp(prefix="dlhw-gradescope-"))
    os.chmod(root, 0o755)
    try:
        yield _set_up(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _set_up(root: Path) -> Path:
    # As `autograder gradescope --torch auto` builds it: hw1's oracles are recorded, so no torch.
    settings = BuildSettings(run_timeout_s=120, needs_torch=needs_live_torch(HW))
    build_autograder_zip(HW, root / "hw1.zip", settings)
    unpack(root / "hw1.zip", root)
    setup = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")], env=local_env(root), capture_output=True,
        text=True, timeout=900,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    return root


def run_autograder(root: Path, notebook: nbformat.NotebookNode | Path) -> dict:
    if not isinstance(notebook, Path):
        path = root / HW.notebook_name
        nbformat.write(notebook, path)
        notebook = path
    prepare_submission(root, notebook)
    done = subprocess.run(
        ["bash", str(root / "run_autograder")], env=local_env(root), capture_output=True,
        text=True, timeout=300, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    return results


def full(results: dict) -> tuple[float, float]:
    return results["score"], sum(t["max_score"] for t in results["tests"])


@pytest.mark.slow
@pytest.mark.torch
def test_run_autograder_grades_reference_stub_buggy_and_hostile(gradescope_root: Path) -> None:
    no_torch = subprocess.run(
        [str(gradescope_root / "dlhw-venv" / "bin" / "python"), "-c", "import torch"],
        capture_output=True,
    )
    assert no_torch.returncode != 0, "the grader's venv has torch, which recorded oracles spare"
    score, total = full(run_autograder(gradescope_root, HW.master))
    assert total > 20 and score == total

    stub = run_autograder(gradescope_root, HW.stub)
    assert stub["score"] == 0
    assert all("not implemented yet" in t["output"] for t in stub["tests"])

    bug = next(v for v in load_variants(HW) if v.kind == "bug")
    score, total = full(run_autograder(gradescope_root, variant_notebook(HW, bug)))
    assert 0 < score < total

    forged = str(gradescope_root / "results" / "results.json")
    hostile = nbformat.v4.new_notebook()
    hostile.cells = [nbformat.v4.new_code_cell(HOSTILE.format(results=forged))]
    results = run_autograder(gradescope_root, hostile)
    assert results["score"] == 0 and results["tests"], results
    # The hidden tests stayed closed to the submission's uid.
    solutions = gradescope_root / "source" / "course" / "solutions"
    assert (solutions.stat().st_mode & 0o077) == 0
