"""The trust boundary in the layout: `autograder/worker/` (the student's process) and
`autograder/wire/` (what both sides share) import nothing of the grader's side.

Read statically, from every import statement (also those inside functions), so that a module the
worker loads late cannot slip a grader import in. tests/test_objects.py checks the other half at
run time: the modules a live worker has loaded."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import dlhw.autograder

PACKAGE = Path(dlhw.autograder.__file__).parent
# Outside the standard library, the worker and the wire format may use numpy, and each other.
ALLOWED = {
    "worker": ("numpy", "dlhw.autograder.worker", "dlhw.autograder.wire"),
    "wire": ("numpy", "dlhw.autograder.wire"),
}


def imports_of(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.append(node.module or "")
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_the_untrusted_side_imports_nothing_of_the_graders(package: str) -> None:
    modules = sorted((PACKAGE / package).glob("*.py"))
    assert modules, package
    for path in modules:
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            assert name.startswith(ALLOWED[package]), f"{path.name} imports {name}"


def test_the_worker_is_started_from_its_package() -> None:
    from dlhw.autograder import confinement

    assert '"dlhw.autograder.worker"' in Path(confinement.__file__).read_text()
    assert (PACKAGE / "worker" / "__main__.py").is_file()
