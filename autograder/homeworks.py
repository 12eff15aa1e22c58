"""The homework registry: where each homework's master notebook, stub and tests live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def course_root() -> Path:
    """The repository root (override with DLHW_ROOT, e.g. for an installed, non-editable copy)."""
    env = os.environ.get("DLHW_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Homework:
    id: str  # what the CLI takes: "hw1"
    slug: str  # folder and notebook name: "hw1_softmax"
    title: str
    functions: tuple[str, ...]  # the graded functions, in the order students write them
    # What live oracles import, loaded while the notebook runs (a recorded run imports none).
    preload: tuple[str, ...] = ("torch",)

    @property
    def solution_dir(self) -> Path:
        return course_root() / "solutions" / self.slug

    @property
    def master(self) -> Path:
        return self.solution_dir / f"{self.slug}.ipynb"

    @property
    def public_tests(self) -> Path:
        return self.solution_dir / "public_tests.py"

    @property
    def hidden_tests(self) -> list[Path]:
        return sorted((self.solution_dir / "tests").glob("test_*.py"))

    @property
    def assignment_dir(self) -> Path:
        return course_root() / "assignments" / self.slug

    @property
    def stub(self) -> Path:
        return self.assignment_dir / f"{self.slug}.ipynb"

    @property
    def notebook_name(self) -> str:
        return f"{self.slug}.ipynb"


HOMEWORKS: dict[str, Homework] = {
    hw.id: hw
    for hw in (
        Homework(
            "hw1",
            "hw1_softmax",
            "Softmax regression on MNIST",
            ("parse_mnist", "softmax_loss", "softmax_regression_grad", "softmax_regression_epoch"),
        ),
    )
}


def get_homework(hw_id: str) -> Homework:
    try:
        return HOMEWORKS[hw_id]
    except KeyError:
        known = ", ".join(sorted(HOMEWORKS))
        raise KeyError(f"unknown homework {hw_id!r}; known: {known}") from None
