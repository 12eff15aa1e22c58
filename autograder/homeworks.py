"""The homework registry: every folder `solutions/hwN_slug/` with a `homework.toml` is a homework.

A homework is a folder (nbgrader's `source/<id>/`, PrairieLearn's question folders):

    solutions/hw2_mlp/
        homework.toml        the manifest: title, the names students write (see below)
        hw2_mlp.ipynb        the master notebook (reference code between solution markers)
        public_tests.py      copied to assignments/ for students
        tests/test_*.py      hidden tests (never leave solutions/)
        variants.py          realistic bugs and correct-but-unusual submissions (tests/test_homeworks.py)

and its generated twin `assignments/hw2_mlp/` (stub and public tests, `make assignments`). The id
is the folder name up to its first underscore ("hw2"). Adding a homework touches no grader code.

The manifest, in TOML:

    title = "A two-layer network"
    functions = ["linear", "relu"]      # the functions students write, in notebook order
    preload = ["torch"]                 # optional: what live oracles import (see oracles.py),
                                        # loaded while the notebook runs; recorded runs skip it

    [classes.Linear]                    # optional: classes hidden tests may construct
    methods = ["forward", "backward"]
    attributes = ["W", "b", "dW", "db"]

    [overrides]                         # optional: globals the grader sets in the notebook's
    BACKEND = "numpy"                   # namespace after its cells ran (plain str/int/float/bool
                                        # values), for what the notebook promises whatever a
                                        # student left there ("the grader always uses numpy")
"""

from __future__ import annotations

import keyword
import math
import os
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's image): the same parser, from PyPI
    import tomli as tomllib

MANIFEST = "homework.toml"
FOLDER = re.compile(r"^(hw\d+)_[a-z0-9_]+$")
MANIFEST_KEYS = {"title", "functions", "preload", "classes", "overrides"}
Override = str | int | float | bool  # a value of [overrides]


class ManifestError(ValueError):
    """A homework folder whose manifest is missing a key, has an unknown one, or a wrong type."""


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
    preload: tuple[str, ...] = ()
    # class name -> its manifest table (methods, attributes, ...), for tests that build objects
    classes: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False, compare=False)
    # global name -> value, set in the notebook's namespace after its cells ran (see `setup_code`)
    overrides: dict[str, Override] = field(default_factory=dict, hash=False, compare=False)
    root: Path = field(default_factory=course_root)

    @property
    def solution_dir(self) -> Path:
        return self.root / "solutions" / self.slug

    @property
    def manifest(self) -> Path:
        return self.solution_dir / MANIFEST

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
    def variants(self) -> Path:
        return self.solution_dir / "variants.py"

    @property
    def assignment_dir(self) -> Path:
        return self.root / "assignments" / self.slug

    @property
    def stub(self) -> Path:
        return self.assignment_dir / f"{self.slug}.ipynb"

    @property
    def notebook_name(self) -> str:
        return f"{self.slug}.ipynb"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name students write: functions, then classes."""
        return self.functions + tuple(self.classes)

    @property
    def setup_code(self) -> str:
        """The Python the grader runs in the notebook's namespace after the notebook's cells:
        the `[overrides]` assignments ("" when there are none)."""
        return "".join(f"{name} = {value!r}\n" for name, value in self.overrides.items())


def _strings(folder: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ManifestError(f"{folder}/{MANIFEST}: {key} must be a list of names")
    return tuple(value)


def _overrides(folder: str, value: Any) -> dict[str, Override]:
    """[overrides]: identifiers to plain values, each written back as a Python literal."""
    ok = isinstance(value, dict) and all(
        isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k)
        and isinstance(v, str | int | float | bool) and not (isinstance(v, float) and not math.isfinite(v))
        for k, v in value.items()
    )  # fmt: skip
    if not ok:
        raise ManifestError(
            f"{folder}/{MANIFEST}: [overrides] maps Python names to strings, integers, finite "
            "floats or booleans"
        )
    return dict(value)


def load_homework(folder: Path, root: Path | None = None) -> Homework:
    """The homework in `folder` (a `solutions/hwN_slug/` folder), from its manifest."""
    match = FOLDER.match(folder.name)
    if match is None:
        raise ManifestError(f"{folder.name}: a homework folder is named hwN_slug (lowercase)")
    try:
        data = tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"{folder.name}: cannot read {MANIFEST}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{folder.name}/{MANIFEST} is not valid TOML: {exc}") from None
    unknown = set(data) - MANIFEST_KEYS
    if unknown:
        raise ManifestError(f"{folder.name}/{MANIFEST}: unknown keys {sorted(unknown)}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ManifestError(f"{folder.name}/{MANIFEST}: title must be a non-empty string")
    classes = data.get("classes", {})
    if not isinstance(classes, dict) or not all(isinstance(v, dict) for v in classes.values()):
        raise ManifestError(f"{folder.name}/{MANIFEST}: [classes.NAME] must be tables")
    functions = _strings(folder.name, "functions", data.get("functions", []))
    if not functions and not classes:
        raise ManifestError(f"{folder.name}/{MANIFEST}: declares no functions and no classes")
    return Homework(
        id=match.group(1),
        slug=folder.name,
        title=title.strip(),
        functions=functions,
        preload=_strings(folder.name, "preload", data.get("preload", [])),
        classes=classes,
        overrides=_overrides(folder.name, data.get("overrides", {})),
        root=root or course_root(),
    )


def discover(root: Path | None = None) -> dict[str, Homework]:
    """Every homework under `root/solutions` (default: the course root), by id, in id order
    (hw2 before hw10)."""
    return _discover(root or course_root())


@cache
def _discover(root: Path) -> dict[str, Homework]:
    found: dict[str, Homework] = {}
    solutions = root / "solutions"
    folders = sorted(solutions.glob(f"*/{MANIFEST}")) if solutions.is_dir() else []
    for manifest in folders:
        hw = load_homework(manifest.parent, root)
        if hw.id in found:
            raise ManifestError(f"two folders claim {hw.id}: {found[hw.id].slug} and {hw.slug}")
        found[hw.id] = hw
    return dict(sorted(found.items(), key=lambda item: int(item[0][2:])))


def homeworks() -> list[Homework]:
    return list(discover().values())


def get_homework(hw_id: str) -> Homework:
    known = discover()
    try:
        return known[hw_id]
    except KeyError:
        raise KeyError(f"unknown homework {hw_id!r}; known: {', '.join(known)}") from None
