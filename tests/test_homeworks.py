"""Every homework, checked the same way: its folder and manifest, its master notebook, its stub,
its generated assignment, and its variants (bugs must lose points, unusual solutions keep them).

A homework's own special cases live in its own test module (tests/test_hw1_*.py, ...).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import nbformat
import pytest

from conftest import failed_tests
from dlhw.autograder.homeworks import Homework, ManifestError, homeworks, load_homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.stubgen import check_assignment
from dlhw.autograder.variants import Variant, load_variants, variant_notebook

HOMEWORKS = homeworks()
BY_ID = pytest.mark.parametrize("hw", HOMEWORKS, ids=[hw.id for hw in HOMEWORKS])
VARIANTS = [(hw, v) for hw in HOMEWORKS for v in load_variants(hw)]
# What the course asks of every homework's variants (issue: at least 10 bugs, 3 unusual ones).
MIN_BUGS, MIN_UNUSUAL = 10, 3


def top_level_names(hw: Homework) -> set[str]:
    names = set()
    for cell in graded_cells(hw.master).cells:
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
    return names


def test_homeworks_are_discovered() -> None:
    ids = [hw.id for hw in HOMEWORKS]
    assert "hw1" in ids and ids == sorted(ids, key=lambda i: int(i[2:]))


@BY_ID
def test_folder_holds_what_grading_needs(hw: Homework) -> None:
    assert hw.master.is_file() and hw.public_tests.is_file(), hw.solution_dir
    assert hw.hidden_tests, f"{hw.id} has no hidden tests in {hw.solution_dir / 'tests'}"
    missing = set(hw.names) - top_level_names(hw)
    assert not missing, f"the manifest names {sorted(missing)}, which the master does not define"


@BY_ID
def test_master_is_valid_and_has_no_outputs(hw: Homework) -> None:
    nb = nbformat.read(hw.master, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# Runs a homework's graded cells in a bare interpreter (-I: no site-packages of ours on the path
# but the environment's) and lists the third-party top-level modules they imported.
IMPORT_PROBE = """\
import json, sys
before = set(sys.modules)
for source in json.loads(sys.stdin.read()):
    exec(source, {})
new = {m.split('.')[0] for m in set(sys.modules) - before}
print(json.dumps(sorted(new - set(sys.stdlib_module_names) - {'numpy'})))
"""


@BY_ID
def test_graded_cells_need_only_numpy(hw: Homework) -> None:
    """The grader runs these cells in a bare worker: numpy and the standard library only (the
    course's kernels are imported only when a backend other than numpy is chosen)."""
    sources = [cell.source for cell in graded_cells(hw.master).cells]
    done = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_PROBE],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@BY_ID
def test_generated_assignment_is_in_sync(hw: Homework) -> None:
    assert check_assignment(hw) == []


@BY_ID
def test_variants_cover_both_sides(hw: Homework) -> None:
    variants = load_variants(hw)
    bugs = [v for v in variants if v.kind == "bug"]
    unusual = [v for v in variants if v.kind == "unusual"]
    assert len(bugs) >= MIN_BUGS and len(unusual) >= MIN_UNUSUAL, (len(bugs), len(unusual))


@pytest.mark.torch
@BY_ID
def test_reference_scores_full_marks(grade_nb, hw: Homework) -> None:
    outcome = grade_nb(hw.master, hw=hw)
    assert outcome.max_score > 0
    assert outcome.score == outcome.max_score, failed_tests(outcome)
    assert all(t["status"] == "passed" for t in outcome.results["tests"])


@pytest.mark.torch
@BY_ID
def test_stub_scores_zero_with_not_implemented_on_every_test(grade_nb, hw: Homework) -> None:
    outcome = grade_nb(hw.stub, hw=hw)
    assert outcome.score == 0 and outcome.max_score > 0
    for test in outcome.results["tests"]:
        assert test["status"] == "failed"
        assert "is not implemented yet" in test["output"], test


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize(
    "hw, variant", VARIANTS, ids=[f"{hw.id}-{v.kind}-{v.name}" for hw, v in VARIANTS]
)
def test_variant(grade_nb, hw: Homework, variant: Variant) -> None:
    outcome = grade_nb(variant_notebook(hw, variant), hw=hw)
    if variant.kind == "bug":
        assert outcome.score < outcome.max_score, f"{variant.name} kept every point"
    else:
        assert outcome.score == outcome.max_score, failed_tests(outcome)


WITH_OVERRIDES = [hw for hw in HOMEWORKS if hw.overrides]


def _another(value: str | int | float | bool) -> str | int | float | bool:
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return f"not {value}: left so by a student"
    return value + 1


@pytest.mark.torch
@pytest.mark.parametrize("hw", WITH_OVERRIDES, ids=[hw.id for hw in WITH_OVERRIDES])
def test_overrides_win_over_what_the_notebook_left(grade_nb, hw: Homework) -> None:
    """The reference, with every [overrides] name set otherwise by a last cell of its own (a
    student who tried BACKEND = "cuda" in section 6 and submitted), still earns full marks: the
    grader sets them after the cells, as the notebook promises ("the grader always runs your
    notebook with numpy"). Before, such a notebook lost nearly every point to the kernels."""
    nb = variant_notebook(hw, Variant("reference", "unusual", {}))
    assignments = "".join(f"{k} = {_another(v)!r}\n" for k, v in hw.overrides.items())
    nb.cells.append(nbformat.v4.new_code_cell(assignments))
    outcome = grade_nb(nb, hw=hw)
    assert outcome.score == outcome.max_score, failed_tests(outcome)


def test_overrides_are_plain_python_assignments(tmp_path) -> None:
    folder = tmp_path / "hw9_demo"
    folder.mkdir()
    manifest = folder / "homework.toml"
    head = 'title = "Demo"\nfunctions = ["f"]\n[overrides]\n'
    manifest.write_text(head + 'BACKEND = "numpy"\nSTEPS = 3\nFAST = true\n')
    hw = load_homework(folder, tmp_path)
    assert hw.setup_code == "BACKEND = 'numpy'\nSTEPS = 3\nFAST = True\n"
    for bad in ('"not a name" = 1', "class = 1", "X = [1, 2]", "X = inf", "X = {a = 1}"):
        manifest.write_text(head + bad + "\n")
        with pytest.raises(ManifestError, match="overrides"):
            load_homework(folder, tmp_path)


def doing_nothing(hw: Homework) -> Variant:
    """Every function the homework grades returns None at once; every declared method of every
    declared class too (constructors still run, so objects exist and hold what they were given)."""
    nothing = "(*args, **kwargs):\n    return None\n"
    replacements = {name: f"def {name}{nothing}" for name in hw.functions}
    for cls, table in hw.classes.items():
        for method in table.get("methods", []):
            replacements[f"{cls}.{method}"] = f"def {method}(self, {nothing[1:]}"
    return Variant("doing_nothing", "bug", replacements)


@BY_ID
def test_doing_nothing_earns_nothing(grade_nb, hw: Homework) -> None:
    """No test is passed by code that does nothing (a property that an empty implementation
    also has, such as "returns None" or "leaves its inputs alone", is checked with real work)."""
    outcome = grade_nb(variant_notebook(hw, doing_nothing(hw)), hw=hw)
    earned = [t["name"] for t in outcome.results["tests"] if t["score"] > 0]
    assert outcome.score == 0, f"a submission that does nothing earned points in: {earned}"


def test_a_string_of_megabytes_is_quoted_shortened_in_feedback(tmp_path) -> None:
    # calculate_gain's tests quote what came back: a 4 MB string, whole in 8 tests' messages
    # (and pytest's log), took the grader from 59 to 228 MiB.
    from conftest import notebook_from_cells
    from dlhw.autograder.grading import grade
    from dlhw.autograder.homeworks import get_homework

    hw = get_homework("hw5")
    cells = [c.source for c in graded_cells(hw.master).cells]
    cells.append("def calculate_gain(nonlinearity, param=None):\n    return 'x' * 4_000_000")
    path = tmp_path / "hw5_init.ipynb"
    nbformat.write(notebook_from_cells(cells), path)
    results = grade(hw, path).results
    gains = [t for t in results["tests"] if t["name"].startswith("calculate_gain")]
    assert gains and all(t["status"] == "failed" for t in gains)
    assert max(len(t["output"]) for t in results["tests"]) < 10_000
