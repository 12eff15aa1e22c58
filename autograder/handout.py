"""What students download: the stub, the public tests, the self-check, the data loader, a README.

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
from dlhw.autograder.stubgen import BEGIN, END, generated_files

# The data loader ships as dlhw/datasets/, so the notebook's `from dlhw.datasets import ...`
# works in the handout's folder without installing anything.
DATA_LOADER = ("datasets", "dlhw/datasets")
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
  `from dlhw.datasets import load_mnist_files`.

Submit `{slug}.ipynb` (only the notebook) to Gradescope. Your code runs there in a separate,
confined process: it cannot read files other than its own and the data the tests give it.
"""


class LeakError(RuntimeError):
    """The handout would reveal solutions, hidden tests or recorded oracles."""


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
    first = next(iter(hw.names), "")
    readme = out / "README.md"
    readme.write_text(README.format(title=hw.title, id=hw.id, slug=hw.slug, first=first))
    written.append(readme)
    leaks = find_leaks(hw, out)
    if leaks:
        shutil.rmtree(out)
        raise LeakError("the handout would leak:\n  " + "\n  ".join(leaks[:20]))
    return written
