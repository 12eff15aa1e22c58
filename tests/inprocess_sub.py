"""An in-process stand-in for the grader's `sub`, for authoring hidden tests against TRUSTED code.

It runs a homework's own cells (the reference, the stub, the variants of variants.py) in this
process, so that hidden tests can be developed and measured quickly; student code never goes near
it. It follows the rules of the real boundary (docs/objects.md) closely enough that a test passing
here is not passing by accident:

- arrays and other plain data cross by value, both ways (deep copies): a test never sees its own
  arrays changed, and what it reads back is a snapshot;
- instances of the manifest's classes cross by reference, as proxies that expose only the declared
  methods and attributes (`opt.step(...)`, `opt.params`); one proxy per object;
- `sub.keep(value)` leaves a copy of `value` on the student's side: passed as an argument it is
  that very object (so in-place updates reach it), and `.value` reads it back by value.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


class Kept:
    """A value the test left on the student's side."""

    def __init__(self, value: Any) -> None:
        self._held = value

    @property
    def value(self) -> Any:
        return copy.deepcopy(self._held)


class LocalObject:
    """A student's object, reachable only through its class's declared members."""

    def __init__(self, sub: InProcessSubmission, obj: Any, cls: str) -> None:
        object.__setattr__(self, "_sub", sub)
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_cls", cls)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        spec = self._sub.classes[self._cls]
        if name in spec.get("methods", ()):
            method = getattr(self._obj, name)
            return lambda *args, **kwargs: self._sub.call(method, args, kwargs)
        if name in spec.get("attributes", ()):
            return self._sub.outgoing(getattr(self._obj, name))
        raise AttributeError(f"{self._cls}.{name} is not declared in the homework's manifest")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._sub.classes[self._cls].get("attributes", ()):
            raise AttributeError(f"{self._cls}.{name} is not a declared attribute")
        setattr(self._obj, name, self._sub.incoming(value))

    def __eq__(self, other: object) -> bool:  # identity, as the real proxies
        return self is other

    def __hash__(self) -> int:
        return id(self)


class InProcessSubmission:
    """`sub` for a namespace of trusted cells; `classes` is the manifest's [classes.*] tables."""

    def __init__(self, namespace: dict[str, Any], classes: Mapping[str, Mapping[str, Any]]):
        self.namespace = namespace
        self.classes = {name: dict(spec) for name, spec in classes.items()}
        self._proxies: dict[int, LocalObject] = {}
        self._alive: list[Any] = []  # keeps proxied objects alive, so ids stay unique

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.namespace:
            raise AssertionError(f"{name} is not defined in the notebook")
        target = self.namespace[name]
        return lambda *args, **kwargs: self.call(target, args, kwargs)

    def keep(self, value: Any) -> Kept:
        return Kept(self.incoming(value))

    def batch(self, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # every operation runs at once here

    def aside(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # no summary or time-out breaker here

    def repeat(self, body: Callable[[Any], Any], start: Any, times: int) -> Any:
        for _ in range(times):
            start = body(start)
        return start

    def value(self, result: Any) -> Any:
        return result.value if isinstance(result, Kept) else result

    def call(self, target: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        return self.outgoing(target(*self.incoming(list(args)), **self.incoming(kwargs)))

    def incoming(self, value: Any) -> Any:
        """The test's value as the student's side receives it."""
        if isinstance(value, Kept):
            return value._held  # the very object, as a reference resolves in the worker
        if isinstance(value, LocalObject):
            return value._obj
        if type(value) in (list, tuple):
            return type(value)(self.incoming(v) for v in value)
        if type(value) is dict:
            return {k: self.incoming(v) for k, v in value.items()}
        return copy.deepcopy(value)

    def outgoing(self, value: Any) -> Any:
        """The student's value as the test receives it."""
        cls = type(value).__name__
        if cls in self.classes and self.namespace.get(cls) is type(value):
            proxy = self._proxies.get(id(value))
            if proxy is None:
                proxy = self._proxies[id(value)] = LocalObject(self, value, cls)
                self._alive.append(value)
            return proxy
        if type(value) in (list, tuple):
            return type(value)(self.outgoing(v) for v in value)
        if type(value) is dict:
            return {k: self.outgoing(v) for k, v in value.items()}
        if isinstance(value, np.ndarray):
            return value.copy()
        return copy.deepcopy(value)


def exec_cells(sources: list[str], label: str) -> dict[str, Any]:
    """Run trusted cells (a homework's own reference or variants) in one fresh namespace."""
    namespace: dict[str, Any] = {"__name__": label}
    for i, source in enumerate(sources):
        # dont_inherit: as the worker and Jupyter compile cells, without this module's
        # `from __future__ import annotations` (a dataclass in a cell needs real annotations).
        code = compile(source, f"<{label} cell {i}>", "exec", dont_inherit=True)
        exec(code, namespace)  # noqa: S102 - trusted
    return namespace
