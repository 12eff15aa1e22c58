"""The test-only homework the object tests grade against: its classes, cells and tests.

Homework 3 will declare the same kind of thing in its manifest; this fixture exists so that the
machinery (and the corpus of hostile objects) is tested before any homework uses it.
"""

from __future__ import annotations

from pathlib import Path

from dlhw.autograder.classspec import ClassSpec, class_specs
from dlhw.autograder.homeworks import Homework

HERE = Path(__file__).resolve().parent

# As a homework.toml's [classes.NAME] tables would hold them (the registry reads those into
# Homework.classes; grading turns them into ClassSpecs).
MANIFEST_CLASSES = {
    "Value": {
        "methods": ["backward", "tanh"],
        "attributes": ["data", "grad"],
        "operators": ["add", "sub", "mul", "truediv", "pow", "neg"],
    },
    "Linear": {"methods": ["forward", "backward"], "attributes": ["W", "b", "dW", "db"]},
    "ReLU": {"methods": ["forward", "backward"]},
    "Sequential": {"methods": ["forward", "backward"]},
}
CLASSES: dict[str, ClassSpec] = class_specs(MANIFEST_CLASSES)
FUNCTIONS = ("topo_sort",)

HOMEWORK = Homework(
    "objects-fixture",
    "objects_fixture",
    "Objects across the boundary (test fixture)",
    FUNCTIONS,
    preload=(),
    classes=MANIFEST_CLASSES,
)
HIDDEN_TESTS = [HERE / "hidden_tests.py"]


def reference_cells() -> list[str]:
    """The reference's cells (the file's `# %%` sections, without its header comment)."""
    text = (HERE / "reference.py").read_text()
    return [c.strip("\n") for c in text.split("# %%\n")[1:]]
