"""The student handout and the self-check: what students get, and that nothing private is in it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from dlhw.autograder.handout import LeakError, build_handout, find_leaks, secrets
from dlhw.autograder.homeworks import Homework, homeworks
from dlhw.autograder.selfcheck import functions_used, run_checks
from dlhw.autograder.variants import load_variants, variant_cells

HOMEWORKS = homeworks()
BY_ID = pytest.mark.parametrize("hw", HOMEWORKS, ids=[hw.id for hw in HOMEWORKS])


@BY_ID
def test_the_handout_holds_the_stub_tests_selfcheck_loader_and_readme(tmp_path, hw) -> None:
    out = tmp_path / "h"
    build_handout(hw, out)
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {hw.notebook_name, "public_tests.py", "selfcheck.py", "README.md"} <= names
    assert "dlhw/datasets/locate.py" in names
    assert (out / hw.notebook_name).read_text() == hw.stub.read_text()
    assert not any("solution" in n or "variants" in n or n.startswith("tests") for n in names)


@BY_ID
def test_nothing_private_leaks_and_a_planted_leak_is_found(tmp_path, hw) -> None:
    out = tmp_path / "h"
    build_handout(hw, out)
    assert find_leaks(hw, out) == []
    found = secrets(hw)
    # Plant, one at a time, a line of solution code, a hidden test's name, and an oracle file.
    solution_line = max((ln for ln in found.lines if "=" in ln), key=len)
    readme = (out / "README.md").read_text()
    (out / "README.md").write_text(readme + "\n" + solution_line + "\n")
    assert any("line" in leak for leak in find_leaks(hw, out))
    (out / "README.md").write_text(readme + f"\nsee {sorted(found.names)[0]}\n")
    assert any("names hidden test" in leak for leak in find_leaks(hw, out))
    (out / "README.md").write_text(readme)
    if found.blobs:
        (out / "data.bin").write_bytes(found.blobs[0])
        assert any("oracle" in leak for leak in find_leaks(hw, out))


def test_a_handout_that_would_leak_is_refused_and_removed(tmp_path, monkeypatch) -> None:
    import dlhw.autograder.handout as handout_module

    hw = HOMEWORKS[0]
    real = handout_module.generated_files
    # e.g. a stub generator that forgot a region
    secret = max((ln for ln in secrets(hw).lines if not ln.startswith("#")), key=len)

    def leaky(hw: Homework):
        return [
            f if f.path.suffix == ".ipynb" else type(f)(f.path, f.text + "\n" + secret + "\n")
            for f in real(hw)
        ]

    monkeypatch.setattr(handout_module, "generated_files", leaky)
    with pytest.raises(LeakError, match="would leak"):
        build_handout(hw, tmp_path / "h")
    assert not (tmp_path / "h").exists()


def test_functions_used_reads_what_tests_reach_through_sub() -> None:
    source = (
        "def test_a(sub):\n    sub.f(1); sub.put_file('x', b'')\n"
        "def test_b(sub):\n    r = sub.g.with_args(2)\n"
        "def helper(sub):\n    sub.h()\n"
    )
    assert functions_used(source) == {"test_a": {"f"}, "test_b": {"g"}}


@BY_ID
def test_selfcheck_passes_the_reference_and_fails_the_stub_like_the_grader(hw) -> None:
    from dlhw.autograder.notebook import graded_cells

    def namespace(sources: list[str]) -> dict:
        ns: dict = {"__name__": "student"}
        for source in sources:
            exec(compile(source, "<cell>", "exec"), ns)  # the course's own reference
        return ns

    reference = namespace([c.source for c in graded_cells(hw.master).cells])
    outcomes = run_checks(None, reference, folder=hw.assignment_dir)
    assert outcomes and all(o.passed for o in outcomes), [o for o in outcomes if not o.passed]

    stub = namespace([c.source for c in graded_cells(hw.stub).cells])
    outcomes = run_checks(None, stub, folder=hw.assignment_dir)
    assert outcomes and not any(o.passed for o in outcomes)
    assert all("is not implemented yet" in o.message for o in outcomes)

    with pytest.raises(ValueError, match="no public test uses"):
        run_checks("no_such_function", reference, folder=hw.assignment_dir)


@BY_ID
def test_selfcheck_runs_from_a_shell_in_the_handout_without_the_grader(tmp_path, hw) -> None:
    """`python selfcheck.py NOTEBOOK` in the handout's folder: the reference passes, the stub
    fails with the grader's words."""
    out = tmp_path / "h"
    build_handout(hw, out)
    bug = next(v for v in load_variants(hw) if v.kind == "bug")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in variant_cells(hw, bug)]
    nbformat.write(nb, out / "mine.ipynb")
    shutil.copy(hw.master, out / "reference.ipynb")
    ok = subprocess.run(
        [sys.executable, "selfcheck.py", "reference.ipynb"], cwd=out,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "public tests passed in all" in ok.stdout and "FAIL" not in ok.stdout
    stub = subprocess.run(
        [sys.executable, "selfcheck.py", hw.notebook_name], cwd=out,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert stub.returncode == 1 and "FAIL" in stub.stdout and "not implemented yet" in stub.stdout


def test_the_stub_has_a_self_check_cell_per_publicly_tested_function() -> None:
    for hw in HOMEWORKS:
        nb = nbformat.read(hw.stub, as_version=4)
        checks = [c for c in nb.cells if c.get("id", "").startswith("selfcheck-")]
        assert checks and checks[-1].source.endswith("check()  # every public test")
        assert all("skip-grading" in c.metadata.get("tags", []) for c in checks)
        used = set().union(*functions_used(hw.public_tests.read_text()).values())
        named = {c.id.removeprefix("selfcheck-") for c in checks} - {"all"}
        assert named == used & set(hw.names)


@pytest.mark.slow
def test_selfcheck_works_in_a_jupyter_kernel(tmp_path) -> None:
    """The stub's one-line check, run in a real kernel in the handout's folder: functions are
    found in the notebook's own namespace."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from dlhw.autograder.notebook import graded_cells

    hw = HOMEWORKS[0]
    out = tmp_path / "h"
    build_handout(hw, out)
    name = sorted(set().union(*functions_used(hw.public_tests.read_text()).values()))[0]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.source) for c in graded_cells(hw.master).cells]
    nb.cells.append(nbformat.v4.new_code_cell(f'from selfcheck import check\ncheck("{name}")'))
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(out)}}
    ).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert f"public tests passed for {name}" in printed and "FAIL" not in printed, printed
