"""What students download: the stub, the public tests, the self-check, the data loader, a README,
and the few NumPy-only grader modules the public tests import (`SHIPPABLE`).

    build_handout(get_homework("hw1"), Path("release/hw1"))

The build checks itself before it returns: `find_leaks` looks in every file it wrote for a line
of solution code, a hidden test's name, docstring or source, and any recorded oracle, and the
build fails (and removes what it wrote) if it finds one.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from dlhw.autograder.homeworks import Homework
from dlhw.autograder.stubgen import BEGIN, END, generated_files, self_checked

# The data loader ships as dlhw/datasets/, so the notebook's `from dlhw.datasets import ...`
# works in the handout's folder without installing anything.
DATA_LOADER = ("datasets", "dlhw/datasets")
# Grader modules a homework's public tests may import (hw1's take assert_close from checks): the
# handout ships each one the public tests import, as dlhw/autograder/NAME.py, so that the
# self-check runs where only NumPy is installed. Each imports nothing but NumPy and the standard
# library (tests/test_handout.py checks), and none holds anything private.
SHIPPABLE = frozenset({"checks"})
# Shipped in every handout: the worker's IPython neutraliser, which the self-check imports so that
# a cell with magics runs locally as it does in the grader (standard library only, nothing private).
ALWAYS_SHIPPED = ("worker/magics.py",)
MIN_LEAK_LINE = 12  # shorter lines ("return X, y") are too common to mean anything

README = """# {title} ({id})

Files:
- `{slug}.ipynb`: the notebook to complete. Fill in every `# YOUR CODE HERE` /
  `raise NotImplementedError()`; keep the functions' names and signatures. Cells tagged
  `skip-grading` (data loading, training, plots) are not graded.
- `public_tests.py`: a few of the tests the autograder runs. The hidden tests check much more.
- `selfcheck.py`: runs the public tests on your functions. In the notebook:
  `from selfcheck import check; check("{first}")`, or `check()` for all of them.
  From a shell: `python selfcheck.py {slug}.ipynb`. Needs NumPy only; works offline.
- `dlhw/datasets/`: finds, downloads (with checksums) and reads the data:
  `from dlhw.datasets import load_mnist_files`.{support}
- `dlhw/autograder/worker/magics.py`: how the autograder runs cells with IPython lines
  (`%matplotlib inline`, `!pip ...`); the self-check uses it.

Submit `{slug}.ipynb` (only the notebook) to Gradescope. Your code runs there in a separate,
confined process: it cannot read files other than its own and the data the tests give it.
"""


class LeakError(RuntimeError):
    """The handout would reveal solutions, hidden tests or recorded oracles."""


class HandoutError(RuntimeError):
    """The public tests need a part of the grader that cannot go to students."""


def support_modules(hw: Homework) -> list[str]:
    """The `dlhw.autograder` modules the public tests import (names like "checks"), sorted."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(hw.public_tests.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["dlhw", "autograder"]:
                if len(parts) < 3:
                    raise HandoutError(f"the public tests import {module}: name a module of it")
                found.add(parts[2])
    if found - SHIPPABLE:
        raise HandoutError(
            f"the public tests import dlhw.autograder.{', '.join(sorted(found - SHIPPABLE))},"
            f" which students do not get (the handout ships only {', '.join(sorted(SHIPPABLE))})"
        )
    return sorted(found)


@dataclass(frozen=True)
class Secrets:
    lines: frozenset[str]  # solution and hidden-test source lines, stripped
    names: frozenset[str]  # hidden tests' function names and titles
    blobs: tuple[bytes, ...]  # recorded oracles and other non-Python files of the hidden tests


def _master_lines(hw: Homework) -> tuple[set[str], set[str]]:
    """The master's lines inside solution regions, and those outside (given to students)."""
    inside_lines: set[str] = set()
    outside_lines: set[str] = set()
    for cell in nbformat.read(hw.master, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN.match(line):
                inside = True
            elif END.match(line):
                inside = False
            else:
                (inside_lines if inside else outside_lines).add(line.strip())
    return inside_lines, outside_lines


def public_lines(hw: Homework) -> set[str]:
    """Lines students get anyway: the master's provided code, the public tests, the data loader
    and the self-check. A secret line that is also one of these reveals nothing."""
    lines = _master_lines(hw)[1]
    sources = [hw.public_tests, *sorted((hw.root / DATA_LOADER[0]).rglob("*.py"))]
    sources.append(Path(__file__).with_name("selfcheck.py"))
    sources += [Path(__file__).with_name(f"{name}.py") for name in SHIPPABLE]
    sources += [Path(__file__).parent / name for name in ALWAYS_SHIPPED]
    for path in sources:
        if path.is_file():
            lines.update(ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return lines


def secrets(hw: Homework) -> Secrets:
    lines = _master_lines(hw)[0]
    names: set[str] = set()
    blobs: list[bytes] = []
    for path in sorted((hw.solution_dir / "tests").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix != ".py":
            blobs.append(path.read_bytes())
            continue
        source = path.read_text(encoding="utf-8")
        lines.update(line.strip() for line in source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                names.add(node.name)
                doc = ast.get_docstring(node)
                if doc:
                    names.add(doc.strip().splitlines()[0])
    return Secrets(frozenset(lines), frozenset(names), tuple(b for b in blobs if len(b) >= 16))


def find_leaks(hw: Homework, folder: Path) -> list[str]:
    """Every place in `folder` that reveals something of `secrets(hw)`."""
    found = secrets(hw)
    suspicious = {
        ln for ln in found.lines if len(ln) >= MIN_LEAK_LINE and not ln.startswith("#")
    } - public_lines(hw)
    names = [n for n in found.names if len(n) >= 6]
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        where = path.relative_to(folder)
        leaks += [
            f"{where}: holds a recorded oracle or hidden data file"
            for b in found.blobs
            if b in data
        ]
        text = data.decode("utf-8", errors="replace")
        if path.suffix == ".ipynb":  # compare code as written, not JSON-escaped
            nb = nbformat.reads(text, as_version=4)
            text = "\n".join(c.source for c in nb.cells)
        stripped = {ln.strip() for ln in text.splitlines()}
        leaks += [
            f"{where}: solution or hidden-test line {ln!r}" for ln in sorted(suspicious & stripped)
        ]
        leaks += [
            f"{where}: names hidden test {n!r}"
            for n in sorted(names)
            if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", text)
        ]
    return leaks


def build_handout(hw: Homework, out: Path) -> list[Path]:
    """Write the student handout into `out` (created; must be empty or absent)."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new folder")
    support = support_modules(hw)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in generated_files(hw):
        path = out / f.path.name
        path.write_text(f.text, encoding="utf-8")
        written.append(path)
    source, target = DATA_LOADER
    shutil.copytree(
        hw.root / source, out / target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    written += sorted(p for p in (out / target).rglob("*") if p.is_file())
    # What public_tests.py imports from the grader, and what the self-check does.
    for name in [f"{name}.py" for name in support] + list(ALWAYS_SHIPPED):
        path = out / "dlhw" / "autograder" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(__file__).parent / name, path)
        written.append(path)
    # The README's example must be a name some public test uses: check() refuses any other.
    first = next(iter(self_checked(hw)), "")
    readme = out / "README.md"
    shipped = "".join(
        f"\n- `dlhw/autograder/{name}.py`: the part of the autograder that the public tests"
        "\n  import (NumPy only), so that their messages read as on Gradescope."
        for name in support
    )
    readme.write_text(
        README.format(title=hw.title, id=hw.id, slug=hw.slug, first=first, support=shipped)
    )
    written.append(readme)
    leaks = find_leaks(hw, out)
    if leaks:
        shutil.rmtree(out)
        raise LeakError("the handout would leak:\n  " + "\n  ".join(leaks[:20]))
    return written
