"""Recorded oracles: a hidden test's PyTorch expectations, computed once and stored beside the tests.

A test still reads as "compare with torch": the oracle is written once, in the test file, and is
what records its value.

    torch = lazy_import("torch")          # imported on first use only

    @oracle
    def torch_loss(Z: np.ndarray, y: np.ndarray) -> float:
        return float(torch.nn.functional.cross_entropy(torch.from_numpy(Z), ...))

A call is keyed by the oracle (its file's stem and qualified name) and a SHA-256 digest of its
inputs; the values live in `recorded_oracles.npz` in the folder of the file that defines the
oracle (plain arrays and a JSON index, read with allow_pickle=False). What a call does depends on
the run's `OracleRun` (see `Mode`): a grading run looks values up and never imports torch; a
missing record is computed live when torch can be imported, and the staff log says so either way.
Oracle inputs must be fixed by the test (seeds, constants), never the student's values: those
would have no record. An oracle whose inputs cannot be fixed is `@oracle(live=True)`: it always
needs live torch. `@checked_against(torch_fn)` marks a NumPy float64 reference instead, which the
verifying run (CI) compares with torch on every call.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import struct
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np

from dlhw.autograder import oracle_store
from dlhw.autograder.oracle_store import STORE_NAME, Store, StoreError, Value, same_value

F = TypeVar("F", bound=Callable[..., Any])


class Mode(str, Enum):
    RECORDED = "recorded"  # grading: look values up; a missing one is computed live if possible
    LIVE = "live"  # always compute with live torch (`grade --live-oracles`, benchmarks)
    RECORD = "record"  # compute, and keep every value to write (`record-oracles`)
    VERIFY = "verify"  # compute, and compare with the records (CI: stale, missing, unused)


class OracleUnavailable(Exception):
    """A value was not recorded and the live oracle cannot run here (no torch)."""


def lazy_import(name: str) -> types.ModuleType:
    """A stand-in for module `name` that imports it on first attribute access."""
    return _LazyModule(name)


class _LazyModule(types.ModuleType):
    def __getattr__(self, attr: str) -> Any:
        # Tools probe module globals for private and dunder names (pytest looks for fixture
        # markers on every one): those must not import the module.
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self.__name__), attr)


def digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """SHA-256 of the inputs, by value and type: arrays by dtype, shape and bytes."""
    h = hashlib.sha256()
    _feed(h, args)
    _feed(h, kwargs)
    return h.hexdigest()


def _feed(h: Any, value: Any) -> None:
    if value is None:
        h.update(b"N")
    elif isinstance(value, bool):
        h.update(b"B1" if value else b"B0")
    elif isinstance(value, int):
        h.update(b"I%d;" % value)
    elif isinstance(value, float):
        h.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, str):
        data = value.encode()
        h.update(b"S%d;" % len(data) + data)
    elif isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"oracle inputs must be numeric arrays, not dtype {arr.dtype}")
        tag = b"A" if isinstance(value, np.ndarray) else b"G"
        h.update(tag + f"{arr.dtype.str}{arr.shape};".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    elif isinstance(value, (tuple, list)):
        h.update(b"T%d;" % len(value) if isinstance(value, tuple) else b"L%d;" % len(value))
        for item in value:
            _feed(h, item)
    elif isinstance(value, dict):
        h.update(b"D%d;" % len(value))
        for key in sorted(value):
            _feed(h, str(key))
            _feed(h, value[key])
    else:
        raise TypeError(f"oracle inputs must be plain data, not {type(value).__name__}")


def describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A short, readable account of the inputs (for the index and for staff)."""

    def one(v: Any) -> str:
        if isinstance(v, np.ndarray):
            return f"{v.dtype}{list(v.shape)}"
        if isinstance(v, (tuple, list)):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return repr(v)[:40]

    return ", ".join([one(a) for a in args] + [f"{k}={one(v)}" for k, v in sorted(kwargs.items())])


@dataclass
class OracleRun:
    """What one run does with oracle calls, and what happened."""

    mode: Mode = Mode.RECORDED
    looked_up: int = 0
    live: list[str] = field(default_factory=list)  # computed live in a recorded run
    unavailable: list[str] = field(default_factory=list)  # no record and no torch
    problems: list[str] = field(default_factory=list)  # damaged files; verify: stale, missing
    recorded: dict[Path, dict[str, tuple[Value, str]]] = field(default_factory=dict)
    used: dict[Path, set[str]] = field(default_factory=dict)
    stores: dict[Path, Store] = field(default_factory=dict)  # folder -> records, read lazily

    def store(self, folder: Path) -> Store:
        if folder not in self.stores:
            try:
                self.stores[folder] = oracle_store.load(folder / STORE_NAME)
            except StoreError as exc:  # as if nothing were recorded; staff are told loudly
                self.problems.append(str(exc))
                self.stores[folder] = Store(folder / STORE_NAME)
        return self.stores[folder]

    def unused(self) -> list[str]:
        """Verify: records no call asked for (their inputs or oracle changed, or were removed)."""
        return [
            f"{folder / STORE_NAME}: {key} is recorded but no test asked for it"
            for folder in sorted(self.stores)
            for key in sorted(set(self.stores[folder].entries) - self.used.get(folder, set()))
        ]

    def staff_note(self) -> str:
        note = f"oracles ({self.mode.value}): {self.looked_up} recorded values used"
        if self.mode is not Mode.RECORDED:
            note = f"oracles ({self.mode.value}): computed with live torch"
        if self.live:
            note += (
                f"; {len(self.live)} needed live torch (no record): "
                + ", ".join(self.live[:10])
                + ("" if len(self.live) <= 10 else ", ...")
                + " - if a record is missing, run `autograder record-oracles HW`"
            )
        if self.problems and self.mode is Mode.RECORDED:
            note += "\nORACLE RECORDS DAMAGED: " + "; ".join(self.problems)
        if self.unavailable:
            note += (
                f"\nORACLES UNAVAILABLE: {len(self.unavailable)} values have no record and torch "
                "cannot be imported here, so the run could not be graded: "
                + ", ".join(self.unavailable[:10])
            )
        return note


_current = OracleRun()


@contextlib.contextmanager
def oracle_run(run: OracleRun) -> Iterator[OracleRun]:
    """Make `run` the one every oracle call reports to, for the duration of the block."""
    global _current
    previous, _current = _current, run
    try:
        yield run
    finally:
        _current = previous


def _identity(fn: Callable[..., Any]) -> tuple[Path, str]:
    path = Path(fn.__code__.co_filename)
    return path.parent, f"{path.stem}.{fn.__qualname__}"


def _compute(fn: Callable[..., Any], name: str, args: Any, kwargs: Any) -> Value:
    try:
        return oracle_store.check_value(fn(*args, **kwargs), name)
    except ImportError as exc:
        _current.unavailable.append(name)
        raise OracleUnavailable(
            f"the expected value was not recorded and cannot be computed here ({exc}); "
            "this test could not be graded: course staff have been told"
        ) from None


@overload
def oracle(fn: F) -> F: ...
@overload
def oracle(*, live: bool = False) -> Callable[[F], F]: ...


def oracle(fn: Any = None, *, live: bool = False) -> Any:
    """Mark a function of plain-data inputs as a recorded oracle (see the module docstring).

    `live=True`: its inputs cannot be fixed in advance, so it is never recorded and always
    needs live torch (a grading run says so in the staff log)."""

    def wrap(fn: F) -> F:
        folder, name = _identity(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            run = _current
            if live:
                if run.mode is Mode.RECORDED:
                    run.live.append(f"{name} (always live)")
                return oracle_store.thaw(_compute(fn, name, args, kwargs))
            key = f"{name}:{digest(args, kwargs)}"
            if run.mode is Mode.RECORDED:
                found = run.store(folder).entries.get(key)
                if found is not None:
                    run.looked_up += 1
                    return oracle_store.thaw(found)
                run.live.append(f"{name}({describe(args, kwargs)})")
                return oracle_store.thaw(_compute(fn, name, args, kwargs))
            value = _compute(fn, name, args, kwargs)
            if run.mode is Mode.RECORD:
                run.recorded.setdefault(folder, {})[key] = (value, describe(args, kwargs))
            elif run.mode is Mode.VERIFY:
                run.used.setdefault(folder, set()).add(key)
                stored = run.store(folder).entries.get(key)
                if stored is None:
                    run.problems.append(f"missing record: {name}({describe(args, kwargs)})")
                elif not same_value(value, stored):
                    run.problems.append(f"stale record: {name}({describe(args, kwargs)})")
            return oracle_store.thaw(value)

        call.__wrapped_oracle__ = fn  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap


def checked_against(torch_fn: Callable[..., Any]) -> Callable[[F], F]:
    """Mark a NumPy (float64) reference as standing in for `torch_fn`, for tests whose inputs
    cannot be fixed in advance: it runs without torch; a verifying run (CI) also calls
    `torch_fn` live on the same inputs and reports any difference as a problem."""
    live = getattr(torch_fn, "__wrapped_oracle__", torch_fn)

    def wrap(fn: F) -> F:
        _, name = _identity(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            if _current.mode is Mode.VERIFY:
                expected = oracle_store.check_value(live(*args, **kwargs), name)
                if not same_value(oracle_store.check_value(result, name), expected):
                    _current.problems.append(
                        f"{name} differs from {live.__qualname__}({describe(args, kwargs)})"
                    )
            return result

        return call  # type: ignore[return-value]

    return wrap
