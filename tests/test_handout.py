"""The student handout and the self-check: what students get, and that nothing private is in it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import nbformat
import pytest

from dlhw.autograder.handout import (
    ALWAYS_SHIPPED,
    SHIPPABLE,
    HandoutError,
    LeakError,
    build_handout,
    find_leaks,
    secrets,
    support_modules,
)
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
def test_the_readmes_example_check_runs_a_public_test(tmp_path, hw) -> None:
    """The README shows `check("NAME")`: NAME must be one the public tests use, or check()
    refuses it (hw1's parse_mnist and hw3's topo_sort have no public test)."""
    import re

    out = tmp_path / "h"
    build_handout(hw, out)
    (name,) = re.findall(r'check\("(\w+)"\)', (out / "README.md").read_text())
    assert name in set().union(*functions_used(hw.public_tests.read_text()).values())


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
def test_selfcheck_words_the_stubs_failures_as_the_grader_does(tmp_path, hw) -> None:
    """The first line of each public test's failure on the handed-out stub is the same locally
    and on Gradescope (an operator the grader calls "`*` on Value" is not "Value.__mul__")."""
    from dlhw.autograder.grading import grade
    from dlhw.autograder.notebook import graded_cells

    stub: dict = {"__name__": "student"}
    for cell in graded_cells(hw.stub).cells:
        exec(compile(cell.source, "<cell>", "exec"), stub)  # the course's own stub
    local = {o.title: o.message.splitlines()[0] for o in run_checks(None, stub, hw.assignment_dir)}
    results = grade(hw, hw.stub, tmp_path / "results.json", tests=[hw.public_tests]).results
    graded = {
        t["name"]: t["output"].removeprefix("```text\n").splitlines()[0]
        for t in results["tests"]
        if t["name"].startswith("public: ")
    }
    assert graded and local == graded


def test_selfcheck_names_operators_with_the_graders_symbols() -> None:
    from dlhw.autograder import selfcheck
    from dlhw.autograder.proxies import SYMBOLS

    assert selfcheck._SYMBOLS == SYMBOLS  # a copy: the handout's self-check imports no grader
    assert selfcheck._grader_name("Value.__rmul__") == "`*` on Value"
    assert selfcheck._grader_name("Value.__neg__") == "`unary -` on Value"
    assert selfcheck._grader_name("Value.backward") == "Value.backward"
    assert selfcheck._grader_name("Value.__init__") == "Value.__init__"
    assert selfcheck._grader_name("__mul__") == "__mul__"


def numpy_only_python(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """A command and environment for a Python that sees NumPy and the standard library only, as
    in a student's fresh venv: `-S` skips site-packages (and the editable install of dlhw), and
    PYTHONPATH holds links to numpy alone."""
    import numpy

    site = tmp_path / "numpy-only"
    site.mkdir()
    installed = Path(numpy.__file__).parent
    for name in ("numpy", "numpy.libs"):  # numpy.libs: the wheel's bundled OpenBLAS
        if (installed.parent / name).exists():
            (site / name).symlink_to(installed.parent / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return [sys.executable, "-S"], {**env, "PYTHONPATH": str(site)}


def test_the_numpy_only_python_cannot_import_the_grader(tmp_path) -> None:
    python, env = numpy_only_python(tmp_path)
    probe = "import numpy\ntry:\n    import dlhw.autograder\nexcept ImportError:\n    print('none')"
    done = subprocess.run([*python, "-c", probe], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.stdout.strip() == "none", done.stdout + done.stderr


@BY_ID
def test_selfcheck_runs_from_a_shell_in_the_handout_without_the_grader(tmp_path, hw) -> None:
    """`python selfcheck.py NOTEBOOK` in the handout's folder, with NumPy alone installed: the
    reference passes, the stub fails with the grader's words."""
    python, env = numpy_only_python(tmp_path)
    out = tmp_path / "h"
    build_handout(hw, out)
    bug = next(v for v in load_variants(hw) if v.kind == "bug")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in variant_cells(hw, bug)]
    nbformat.write(nb, out / "mine.ipynb")
    shutil.copy(hw.master, out / "reference.ipynb")
    ok = subprocess.run(
        [*python, "selfcheck.py", "reference.ipynb"], cwd=out, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "public tests passed in all" in ok.stdout and "FAIL" not in ok.stdout
    stub = subprocess.run(
        [*python, "selfcheck.py", hw.notebook_name], cwd=out, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert stub.returncode == 1 and "FAIL" in stub.stdout and "not implemented yet" in stub.stdout


def test_selfcheck_in_a_notebook_without_pytest_runs_check_more_than_once(tmp_path) -> None:
    """The stub's self-check cells call check once per function, then check(): with NumPy alone
    installed, the pytest stand-in the first call left in sys.modules must not break the next."""
    from dlhw.autograder.notebook import graded_cells

    python, env = numpy_only_python(tmp_path)
    hw = HOMEWORKS[0]
    out = tmp_path / "h"
    build_handout(hw, out)
    name = sorted(set().union(*functions_used(hw.public_tests.read_text()).values()))[0]
    cells = [c.source for c in graded_cells(hw.master).cells]
    script = (
        f"for cell in {cells!r}:\n    exec(cell, globals())\n"
        f"from selfcheck import check\nprint(check({name!r}), check())"
    )
    done = subprocess.run([*python, "-c", script], cwd=out, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.rstrip().endswith("True True"), (
        done.stdout + done.stderr
    )


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


def test_shipped_grader_modules_import_only_numpy_and_the_standard_library() -> None:
    import dlhw.autograder

    for name in [f"{n}.py" for n in SHIPPABLE] + list(ALWAYS_SHIPPED):
        path = Path(dlhw.autograder.__file__).parent / name
        tops = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops.add(node.module.split(".")[0])
        assert tops - {"__future__", "numpy"} <= set(sys.stdlib_module_names), (name, tops)


def test_the_handout_ships_what_the_public_tests_import_from_the_grader(tmp_path) -> None:
    hw = next(hw for hw in HOMEWORKS if support_modules(hw))  # hw1's tests use assert_close
    out = tmp_path / "h"
    build_handout(hw, out)
    for name in support_modules(hw):
        assert (out / "dlhw" / "autograder" / f"{name}.py").is_file()
        assert f"dlhw/autograder/{name}.py" in (out / "README.md").read_text()


def test_public_tests_that_import_an_unshippable_grader_module_are_refused(
    tmp_path, monkeypatch
) -> None:
    hw = HOMEWORKS[0]
    tests = tmp_path / "public_tests.py"
    tests.write_text("from dlhw.autograder.session import Session\n")
    monkeypatch.setattr(type(hw), "public_tests", property(lambda self: tests))
    with pytest.raises(HandoutError, match="session"):
        build_handout(hw, tmp_path / "h")
    assert not (tmp_path / "h").exists()


def test_selfcheck_runs_cells_one_by_one_and_reports_a_failing_cell_like_the_grader() -> None:
    from dlhw.autograder.selfcheck import run_cells

    cells = [
        (0, "import numpy as np"),
        (3, "def f(x):\n    return x +\n"),  # a syntax error
        (4, "%matplotlib inline\ndef g(x):\n    return np.asarray(x)[5]"),  # a magic, as in Jupyter
        (6, "h = 1 / 0"),
    ]
    namespace: dict = {}
    problems = run_cells(cells, namespace)
    assert len(problems) == 2
    assert problems[0].startswith("cell 4 (`def f(x):`)") and "SyntaxError" in problems[0]
    assert problems[1].startswith("cell 7 (`h = 1 / 0`)") and "h = 1 / 0" in problems[1]
    assert "f" not in namespace and callable(namespace["g"])  # the other cells still ran
    with pytest.raises(IndexError) as info:
        namespace["g"]([1])
    shown = "".join(traceback.format_tb(info.tb))
    assert '"<cell 5>", line 3' in shown and "return np.asarray(x)[5]" in shown


def test_selfcheck_warns_of_a_cell_slower_than_the_graders_cell_limit(monkeypatch) -> None:
    """A graded cell that trains after defining a class passes here, however long it takes; the
    autograder leaves it out whole past its cell limit. The self-check says so, and still runs
    the cell (its definitions are the student's to check)."""
    import dlhw.autograder.selfcheck as selfcheck
    from dlhw.autograder.confinement import Limits

    assert Limits().cell_timeout_s == selfcheck.GRADER_CELL_TIMEOUT_S  # the copy is the same
    monkeypatch.setattr(selfcheck, "SLOW_CELL_S", 0.05)
    cells = [(2, "import time\n\ndef f(x):\n    return x\n\ntime.sleep(0.1)  # training")]
    namespace: dict = {}
    (problem,) = selfcheck.run_cells(cells, namespace)
    assert problem.startswith("cell 3 (`import time`) took 0 s here: the autograder stops a")
    assert "leaves it out whole" in problem and "skip-grading" in problem
    assert callable(namespace["f"])
    assert selfcheck.run_cells([(0, "x = 1")], {}) == []


def test_selfcheck_compiles_cells_without_its_own_future_imports() -> None:
    """As in Jupyter and in the worker: selfcheck.py's `from __future__ import annotations` must
    not reach the student's cells (a dataclass with a ClassVar dict failed only there)."""
    from dlhw.autograder.selfcheck import run_cells

    cell = (
        "from dataclasses import dataclass\nfrom typing import ClassVar\n@dataclass\n"
        "class Config:\n    DEFAULTS: ClassVar[dict] = {'lr': 0.1}\n    lr: float = 0.01\n"
        "def f(x: int) -> None: ...\n"
    )
    namespace: dict = {}
    assert run_cells([(0, cell)], namespace) == []
    assert namespace["f"].__annotations__["x"] is int


def test_selfcheck_keeps_a_cells_future_import_for_the_later_cells() -> None:
    """As in Jupyter and in the worker: a notebook's own `from __future__ import annotations`
    holds for the cells after it (a class annotating its methods with itself)."""
    from dlhw.autograder.selfcheck import run_cells

    cells = [
        (0, "from __future__ import annotations\n"),
        (1, "class Node:\n    def __add__(self, other: Node) -> Node:\n        return self\n"),
    ]
    namespace: dict = {}
    assert run_cells(cells, namespace) == []
    assert namespace["Node"].__add__.__annotations__["other"] == "Node"


def test_selfcheck_warns_of_imports_the_grader_does_not_have() -> None:
    from dlhw.autograder.selfcheck import unavailable_imports

    cells = [
        (1, "import gzip, struct\nimport numpy as np\nimport torch\nfrom scipy import special"),
        (2, "def f():\n    import matplotlib.pyplot as plt\n    from dlhw.kernels import matmul"),
        (3, "%matplotlib inline\nimport os.path"),
        (4, "from selfcheck import check\ncheck('f')"),  # the grader has no selfcheck
    ]
    assert unavailable_imports(cells) == [
        "cell 2 imports torch", "cell 2 imports scipy", "cell 3 imports matplotlib.pyplot",
        "cell 5 imports selfcheck",
    ]  # fmt: skip


def test_selfcheck_stops_a_test_that_hangs_and_skips_the_function_afterwards(monkeypatch) -> None:
    import dlhw.autograder.selfcheck as selfcheck
    from dlhw.autograder.notebook import graded_cells

    hw = HOMEWORKS[0]
    name = sorted(set().union(*functions_used(hw.public_tests.read_text()).values()))[0]
    namespace: dict = {"__name__": "student"}
    for cell in graded_cells(hw.master).cells:
        exec(compile(cell.source, "<cell>", "exec"), namespace)  # the course's own reference

    def hangs(*args, **kwargs):
        while True:
            pass

    namespace[name] = hangs
    monkeypatch.setattr(selfcheck, "TEST_TIMEOUT_S", 0.2)
    outcomes = run_checks(name, namespace, folder=hw.assignment_dir)
    assert "hangs was still running after 0.2 s; is there an infinite loop" in outcomes[0].message
    assert all(o.message.startswith(f"not run: {name} ran past") for o in outcomes[1:])


def test_selfcheck_names_the_method_that_raised_and_shows_its_lines_like_the_grader() -> None:
    """A method of the student's object that raises (the public tests call methods directly):
    "Sigmoid.forward raised TypeError: ..." and its traceback, as Gradescope says it, not the
    bare exception."""
    from dlhw.autograder.homeworks import get_homework
    from dlhw.autograder.notebook import graded_cells

    hw = get_homework("hw3")
    namespace: dict = {"__name__": "student"}
    for cell in graded_cells(hw.master).cells:
        exec(compile(cell.source, "<cell>", "exec"), namespace)  # the course's own reference
    broken = (
        "class Sigmoid:\n    def forward(self, X):\n"
        "        return 1.0 / (1.0 + math.exp(-X))  # math.exp takes one number\n"
    )
    exec(compile(broken, "<cell 9>", "exec"), namespace)
    (outcome,) = run_checks("Sigmoid", namespace, folder=hw.assignment_dir)
    assert outcome.message.startswith("Sigmoid.forward raised TypeError: "), outcome.message
    assert '"<cell 9>", line 3, in forward' in outcome.message
    assert "public_tests.py" not in outcome.message  # the test's own lines are not the student's


def test_selfcheck_names_an_inherited_method_after_the_objects_class_like_the_grader() -> None:
    """The grader names a method after the class the test used ("Sigmoid.forward raised ...",
    "Sigmoid.backward is not implemented yet"), also where Sigmoid inherits it; so must the
    self-check, on Python 3.10 (no co_qualname) as on 3.11+ (whose co_qualname says "_Act")."""
    from dlhw.autograder.homeworks import get_homework
    from dlhw.autograder.notebook import graded_cells

    hw = get_homework("hw3")
    for body, said in [
        ("        import math\n        return 1.0 / (1.0 + math.exp(-X))\n",
         "Sigmoid.forward raised TypeError: "),
        ("        raise NotImplementedError()\n", "Sigmoid.forward is not implemented yet"),
    ]:  # fmt: skip
        namespace: dict = {"__name__": "student"}
        for cell in graded_cells(hw.master).cells:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # the course's own reference
        inherited = (
            "class _Act:\n    def forward(self, X):\n" + body + "class Sigmoid(_Act):\n    pass\n"
        )
        exec(compile(inherited, "<cell 9>", "exec"), namespace)
        (outcome,) = run_checks("Sigmoid", namespace, folder=hw.assignment_dir)
        assert outcome.message.startswith(said), outcome.message


def test_selfcheck_survives_an_exception_whose_str_raises() -> None:
    """A method that raises an exception whose __str__ fails is a failed test, not a crash of
    the self-check (the grader's worker says "<unprintable exception>")."""
    from dlhw.autograder.homeworks import get_homework
    from dlhw.autograder.notebook import graded_cells

    hw = get_homework("hw3")
    namespace: dict = {"__name__": "student"}
    for cell in graded_cells(hw.master).cells:
        exec(compile(cell.source, "<cell>", "exec"), namespace)
    hostile = (
        "class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n"
        "class Sigmoid:\n    def forward(self, X):\n        raise Odd()\n"
    )
    exec(compile(hostile, "<cell 9>", "exec"), namespace)
    (outcome,) = run_checks("Sigmoid", namespace, folder=hw.assignment_dir)
    assert outcome.message.startswith("Sigmoid.forward raised Odd: <unprintable exception>")


def test_selfcheck_from_a_shell_says_a_wrong_name_or_path_in_one_line(tmp_path) -> None:
    python, env = numpy_only_python(tmp_path)
    hw = HOMEWORKS[0]
    out = tmp_path / "h"
    build_handout(hw, out)
    for args, said in [
        (
            [hw.notebook_name, "no_such_function"],
            "selfcheck: no public test uses 'no_such_function'",
        ),
        (["no_such.ipynb"], "selfcheck: no_such.ipynb is not a file"),
    ]:
        done = subprocess.run([*python, "selfcheck.py", *args], cwd=out, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
        assert done.stderr.startswith(said) and "Traceback" not in done.stderr, done.stderr


def test_selfcheck_from_a_shell_shows_the_cells_own_lines(tmp_path) -> None:
    """A traceback names the cell and shows its code, never a line of the notebook's JSON."""
    python, env = numpy_only_python(tmp_path)
    hw = HOMEWORKS[0]
    out = tmp_path / "h"
    build_handout(hw, out)
    nb = nbformat.read(out / hw.notebook_name, as_version=4)
    name = sorted(set().union(*functions_used(hw.public_tests.read_text()).values()))[0]
    cell = next(c for c in nb.cells if c.source.startswith(f"def {name}("))
    cell.source = cell.source.replace("raise NotImplementedError()", "return undefined_name")
    nbformat.write(nb, out / "mine.ipynb")
    done = subprocess.run(
        [*python, "selfcheck.py", "mine.ipynb", name], cwd=out, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"<cell {nb.cells.index(cell) + 1}>" in done.stdout
    assert "return undefined_name" in done.stdout and '"cell_type"' not in done.stdout


def test_selfcheck_turns_ipython_lines_into_python_exactly_as_the_grader() -> None:
    # `% 3` on a continuation line is Python (the grader's rule: only lines that start a
    # statement are IPython), the `%matplotlib` line is not: both as in the worker.
    from dlhw.autograder.selfcheck import run_cells
    from dlhw.autograder.worker.magics import neutralise_ipython

    cell = "x = (10\n% 3)\n%matplotlib inline\ny = !ls"
    namespace: dict = {}
    assert run_cells([(0, cell)], namespace) == []
    assert namespace["x"] == 1 and namespace["y"] is None
    reference: dict = {}
    exec(compile(neutralise_ipython(cell), "<cell>", "exec"), reference)  # type: ignore[arg-type]
    assert (reference["x"], reference["y"]) == (namespace["x"], namespace["y"])
