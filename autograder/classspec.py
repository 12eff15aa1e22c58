"""What a homework lets hidden tests reach of a student's classes: `ClassSpec`.

A homework declares, per class, the methods tests may call, the attributes they may read and
write, and the operators they may apply (names of Python's `operator` module: "add" covers
`a + b` and `2 + a`). Nothing else of a student's object is reachable from the grader, as in
CPython's `multiprocessing.managers` (a proxy exposes only its `exposed` names). In a homework's
manifest (homework.toml) the same keys appear as one table per class:

    [classes.Linear]
    methods = ["forward", "backward"]
    attributes = ["W", "b", "dW", "db"]

    [classes.Value]
    methods = ["backward", "exp", "log", "tanh", "relu", "sigmoid", "maximum"]
    attributes = ["data", "grad"]
    operators = ["add", "sub", "mul", "truediv", "pow", "neg"]

`class_specs(manifest["classes"])` turns those tables into `{name: ClassSpec}`.
This module is pure data: the worker imports it for the operator vocabulary.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from dlhw.autograder.wire.operators import BINARY, UNARY

# Never declarable: equality, hashing and truth of a proxy stay local (a student's object that
# claims to equal everything gains nothing), and conversions would hand the grader student code.
NOT_DECLARABLE = frozenset({"eq", "ne", "hash", "bool", "len", "index", "int", "float", "iter"})


class SpecError(ValueError):
    """A malformed class declaration: the homework's author must fix the manifest."""


def _names(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise SpecError(f"{what} must be a list of names, not {value!r}")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise SpecError(f"{what}: {name!r} is not a Python name")
        if name.startswith("_"):
            raise SpecError(f"{what}: {name!r} starts with '_'; only public names can be declared")
    if len(set(names)) != len(names):
        raise SpecError(f"{what} lists a name twice: {list(names)}")
    return names


@dataclass(frozen=True)
class ClassSpec:
    """The members of one student class that hidden tests may use."""

    methods: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()  # readable and writable (tests set weights)
    operators: tuple[str, ...] = ()  # keys of BINARY or UNARY

    def __post_init__(self) -> None:
        # Lists from a TOML manifest become tuples: the spec is hashable and cannot change.
        for f in fields(self):
            object.__setattr__(self, f.name, _names(getattr(self, f.name), f.name))
        both = set(self.methods) & set(self.attributes)
        if both:
            raise SpecError(f"declared both as method and attribute: {sorted(both)}")
        for op in self.operators:
            if op in NOT_DECLARABLE:
                raise SpecError(f"operator {op!r} cannot be declared: it stays local to the proxy")
            if op not in BINARY and op not in UNARY:
                known = ", ".join([*BINARY, *UNARY])
                raise SpecError(f"unknown operator {op!r}; known: {known}")


def class_specs(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, ClassSpec]:
    """`{class name: ClassSpec}` from a manifest's `[classes.NAME]` tables (unknown keys refused)."""
    known = {f.name for f in fields(ClassSpec)}
    specs = {}
    for name, table in tables.items():
        _names([name], "class name")
        unknown = set(table) - known
        if unknown:
            raise SpecError(
                f"[classes.{name}]: unknown keys {sorted(unknown)}; allowed: {sorted(known)}"
            )
        try:
            specs[name] = ClassSpec(**table)
        except SpecError as exc:
            raise SpecError(f"[classes.{name}]: {exc}") from None
    return specs
