"""The worker's side of objects across the boundary: the student's objects, kept by id.

Runs in the student's process (only worker.py imports it). The grader never receives an object,
only a `Ref` to it, and sends steps that name objects by their refs:

    {"op": "objects", "epoch": e, "first_id": n, "classes": [names], "steps": [step, ...]}
        -> {"ok": true, "values": [boxed result of each step that ran], "error": null | {...}}
    {"op": "release"}  -> {"ok": true}        (the test ended: drop every object)

A step is `[kind, target, name, args, kwargs]`: ("new", None, class, ...), ("fn", None, function,
...), ("fnargs", ...) (also returns the arguments as the call left them), ("call", ref, method,
...), ("get", ref, attribute), ("set", ref, attribute, [value]), ("op", None, operator,
operands), ("keep", None, "keep", [value]) (the test's own array or plain value, kept here: its
result is a Ref of class KEPT, so that passed back it is that very object, which the student's
code may update in place), ("value", ref, "value", []) (a kept value, read back by value) and
("repeat", start, "", [times, body, result]) (see `ObjectTable._repeat`: a loop of steps run here,
such as a chain of 10,000 nodes, in one step). Steps run in order and stop at the first that
fails. Step i's result is known as id
`first_id + i` to later steps of the same request, so a batch needs one round trip; an object
first seen as step i's result keeps that id, other new objects get ids after the steps' ones,
within the range the grader granted (it rejects any other id as forged).

Results are boxed as rpyc does (by value when plain data, else by reference), but only instances
of a declared class (or of a subclass: the type's own MRO, never `isinstance` or `__class__`) go
by reference: anything else is refused.
"""

from __future__ import annotations

import builtins
import gc
import traceback
import types
from typing import Any

import numpy as np

from dlhw.autograder.wire.operators import BINARY, UNARY
from dlhw.autograder.wire.protocol import MAX_DEPTH, NUMERIC_KINDS, Ref

KEPT = "<kept value>"  # the Ref class of a test's value kept in the worker (never a class name)
LOOP = "<repeat>"  # the Ref class of a value inside a repeat's body (never a class name)
MAX_REPEAT = 1_000_000  # times one repeat step may run its body (the request's time limit rules)
# The kinds of step a repeat's body may hold: operations on objects, and functions and classes
# called; nothing that keeps, sets or returns by value, and no repeat in a repeat.
LOOP_KINDS = frozenset({"op", "call", "get", "fn", "new"})
MAX_STEPS = 4096  # steps in one request; the grader splits longer batches
MAX_NEW_IDS = 2**20  # new objects one request may name beyond its steps' ids
MAX_BOXED_ITEMS = 100_000  # items in one reply's values (what the grader's decoder accepts)
PLAIN = (bool, int, float, str, complex)
_FAST = (bool, int, float, str, type(None))  # arguments that are passed as they are
_MRO = type.__dict__["__mro__"]  # the C slot: type.__mro__ of a class, whatever its metaclass
# The built-in exception classes, by id (which no class can fake), to name the one a student's
# own exception class derives from: `class BadMode(ValueError)` raises a ValueError.
_BUILTIN_EXCEPTIONS = {
    id(c): name
    for name, c in vars(builtins).items()
    if isinstance(c, type) and issubclass(c, BaseException)
}


class StepError(Exception):
    """A step that cannot run for a reason of its own kind (not an exception of student code)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def describe_error(exc: BaseException, filename_prefix: str = "<cell") -> dict[str, Any]:
    """Describe an exception; the traceback keeps only frames of student code (notebook cells)."""
    if isinstance(exc, StepError):
        return {"type": exc.kind, "message": str(exc), "traceback": ""}
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(filename_prefix)
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not break the reply
        message = "<unprintable exception>"
    described = {
        "type": type(exc).__name__[:200],
        "message": message[:2000],
        "traceback": "".join(lines)[-4000:],
    }
    base = _builtin_base(type(exc))
    if base is not None:
        described["base"] = base
    return described


def _builtin_base(cls: type) -> str | None:
    """The built-in exception classes a class of the student's own derives from (its real MRO),
    joined by " and ": "ValueError" for `class BadMode(ValueError)`, "KeyError and ValueError"
    for `class Unknown(KeyError, ValueError)` (not LookupError, which KeyError derives from).
    None for a built-in class, or one that derives only from Exception or BaseException."""
    mro = _MRO.__get__(cls)
    if id(cls) in _BUILTIN_EXCEPTIONS:
        return None
    found = [
        c for c in mro if _BUILTIN_EXCEPTIONS.get(id(c)) not in (None, "Exception", "BaseException")
    ]
    # Built-in classes have built-in MROs: `in` on them compares the classes themselves.
    most_derived = [c for c in found if not any(c in _MRO.__get__(o)[1:] for o in found)]
    return " and ".join(_BUILTIN_EXCEPTIONS[id(c)] for c in most_derived) or None


def _type_name(obj: object) -> str:
    return type(obj).__name__[:100]


class ObjectTable:
    """The student's objects the grader holds references to, for one worker process."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.epoch: int | None = None
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> ref id; never hash(obj), which is student code
        self.next_id = 0
        self.world_frozen = False  # see freeze_world
        # State of the request being run:
        self.declared: dict[int, str] = {}
        self.slots: dict[int, Any] = {}  # step results, by the ids later steps know them by
        self.mint = self.mint_end = 0  # the next id for a new object, and the end of the range
        self.boxed_items = 0
        self.loop: list[Any] | None = None  # inside a repeat: the loop value, then the body's
        # (time, body step, class of the loop value) where a repeat of the request failed
        self.repeat_at: tuple[int, int, str] | None = None

    # ---- requests ------------------------------------------------------------------------

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        epoch, first, steps = request.get("epoch"), request.get("first_id"), request.get("steps")
        names = request.get("classes")
        if not (
            type(epoch) is int
            and type(first) is int
            and type(steps) is list
            and len(steps) <= MAX_STEPS
            and type(names) is list
        ):
            return _failure("ProtocolError", "malformed objects request")
        if self.epoch is None:
            self.epoch = epoch
        if epoch != self.epoch or first < self.next_id:
            return _failure("BadReference", "request for another worker generation or id range")
        self.declared = self._declared(names)
        self.slots = {}
        self.mint, self.mint_end = first + len(steps), first + len(steps) + MAX_NEW_IDS
        self.boxed_items = 0
        self.repeat_at = None
        values: list[Any] = []
        error = None
        self.freeze_world()
        for i, step in enumerate(steps):
            try:
                value = self._step(step)
                if type(value) is _Kept:
                    value = value.value
                    values.append(Ref(self._intern(value, first + i), self.epoch or 0, KEPT))
                else:
                    values.append(self._box(value, 0, first + i))
            except BaseException as exc:  # noqa: BLE001 - SystemExit etc. are student code
                error = {"step": i, **describe_error(exc)}
                if self.repeat_at is not None:  # where in the repeat: the grader names that step
                    error["repeat"] = list(self.repeat_at)
                break
            self.slots[first + i] = value
        self.slots = {}
        self.next_id = self.mint_end
        return {"ok": True, "values": values, "error": error}

    def release(self) -> dict[str, Any]:
        """Drop every object (finalizers run now, in the test that made the objects)."""
        self.objects.clear()
        self.ids.clear()
        gc.collect()  # objects in reference cycles too (the world is frozen: the tests' only)
        return {"ok": True}

    def freeze_world(self) -> None:
        """Leave the objects that existed before the first test's request (modules, the
        notebook's own) out of every later collection, once garbage among them is collected.
        Collections then scan only what the tests made: the full collection of a release
        (finalizers of objects in cycles run in their test) no longer rescans the world's
        ~20,000 objects (measured, hw4's reference: 61 releases 0.34 s -> 0.001 s of the
        worker's time), nor does one triggered while a graph is built. A cell run later thaws
        the world (`thaw_world`): what it drops is collected as before."""
        if not self.world_frozen:
            gc.collect()
            gc.freeze()
            self.world_frozen = True

    def thaw_world(self) -> None:
        if self.world_frozen:
            gc.unfreeze()
            self.world_frozen = False

    def _declared(self, names: list[Any]) -> dict[int, str]:
        """id(class) -> declared name, for the declared names bound to classes right now."""
        declared = {}
        for name in names:
            cls = self.namespace.get(name) if type(name) is str else None
            if issubclass(type(cls), type):  # type(), not isinstance: __class__ can lie
                declared[id(cls)] = name
        return declared

    # ---- one step ------------------------------------------------------------------------

    def _step(self, step: Any) -> Any:
        if type(step) is not list or len(step) not in (4, 5):
            raise StepError("ProtocolError", "malformed step")
        kind, target, name, args = step[:4]
        kwargs = step[4] if len(step) == 5 else {}
        if type(name) is not str or type(args) is not list or type(kwargs) is not dict:
            raise StepError("ProtocolError", "malformed step")
        if self.loop is not None and kind not in LOOP_KINDS:
            raise StepError("ProtocolError", f"a {kind!r} step in a repeat's body")
        if kind == "repeat":
            return self._repeat(target, args, kwargs)
        args, kwargs = self._resolve(args, 0), self._resolve(kwargs, 0)
        if kind in ("new", "fn", "fnargs"):
            func = self.namespace.get(name)
            if func is None:
                raise StepError("NotDefined", f"{name} is not defined")
            if kind == "new" and not (issubclass(type(func), type) and id(func) in self.declared):
                raise StepError("NotAClass", f"{name} is a {_type_name(func)}, not a class")
            if not callable(func):
                raise StepError("NotCallable", f"{name} is a {_type_name(func)}")
            value = _no_generator(func(*args, **kwargs))
            return [value, args, kwargs] if kind == "fnargs" else value
        if kind == "keep":
            if len(args) != 1 or kwargs:
                raise StepError("ProtocolError", "keep takes one value")
            return _Kept(_own(args[0]))
        if kind == "op":
            if name in BINARY and len(args) == 2:
                return _no_generator(BINARY[name](args[0], args[1]))
            if name in UNARY and len(args) == 1:
                return _no_generator(UNARY[name](args[0]))
            raise StepError("ProtocolError", f"unknown operator {name!r}")
        if name.startswith("_") or not name.isidentifier():
            raise StepError("ProtocolError", f"{name!r} is not a public name")
        obj = self._resolve(target, 0)
        if kind == "value":
            if type(target) is not Ref or target.cls != KEPT:
                raise StepError("ProtocolError", "only a kept value is read by value")
            return obj
        if kind == "get":
            return _no_generator(getattr(obj, name))
        if kind == "set":
            if len(args) != 1:
                raise StepError("ProtocolError", "set takes one value")
            setattr(obj, name, args[0])
            return None
        if kind == "call":
            method = getattr(obj, name)
            if not callable(method):
                raise StepError("NotCallable", f"{name} is a {_type_name(method)}, not a method")
            return _no_generator(method(*args, **kwargs))
        raise StepError("ProtocolError", f"unknown step {kind!r}")

    def _repeat(self, start: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run the steps of `body` `times` times: the first time with `start` as the loop value,
        each later time with the last time's result. In the body, Ref(0, epoch, LOOP) is the loop
        value and Ref(j, epoch, LOOP) the result of its step j (1-based); `result` names the one
        that is the time's result. Nothing of the body is boxed or kept, only the last result is
        the step's: homework 3's chain of 10,000 nodes is one step, not 10,000 (~0.05 s instead
        of ~0.5 s of encoding, decoding and boxing). A failure names the time and body step."""
        if len(args) != 3 or kwargs:
            raise StepError("ProtocolError", "malformed repeat")
        times, body, result = args
        if not (
            type(times) is int
            and 1 <= times <= MAX_REPEAT
            and type(body) is list
            and 0 < len(body) <= MAX_STEPS
            and type(result) is int
            and 0 < result <= len(body)
        ):
            raise StepError("ProtocolError", "malformed repeat")
        value = self._resolve(start, 0)
        done = 0
        try:
            for done in range(times):  # noqa: B007 - read when a step fails
                loop = self.loop = [value]
                for step in body:
                    loop.append(self._step(step))
                value = loop[result]
        except BaseException:
            # Where (the failed step is the body's next), and the declared class of that time's
            # loop value: the grader knew the body's values only as "object" when it recorded.
            loop = self.loop or [None]
            self.repeat_at = (done, len(loop) - 1, self._declared_name(type(loop[0])) or "")
            raise
        finally:
            self.loop = None
        return value

    def _resolve(self, value: Any, depth: int) -> Any:
        """The grader's arguments with each Ref replaced by the object it names."""
        if type(value) is Ref:
            if value.epoch != self.epoch:
                raise StepError("BadReference", "a reference from another worker generation")
            if value.cls == LOOP:  # a value of this time of a repeat, computed before this step
                if self.loop is None or not 0 <= value.id < len(self.loop):
                    raise StepError("BadReference", "a repeat's value out of its body")
                return self.loop[value.id]
            if value.id in self.slots:
                return self.slots[value.id]
            if value.id in self.objects:
                return self.objects[value.id]
            raise StepError("BadReference", f"no object has id {value.id}")
        if depth > MAX_DEPTH:
            raise StepError("ProtocolError", "arguments nested too deeply")
        if type(value) is list:
            return [v if type(v) in _FAST else self._resolve(v, depth + 1) for v in value]
        if type(value) is tuple:
            return tuple(self._resolve(v, depth + 1) for v in value)
        if type(value) is dict:
            return {k: self._resolve(v, depth + 1) for k, v in value.items()}
        return value

    # ---- results -------------------------------------------------------------------------

    def _box(self, value: Any, depth: int, slot: int | None = None) -> Any:
        """Plain data as it is, declared objects as Refs; anything else refused. Only exact
        types are looked at (type(), never isinstance or the object's own methods)."""
        self.boxed_items += 1
        if self.boxed_items > MAX_BOXED_ITEMS:
            raise StepError("BadReturn", f"the results have more than {MAX_BOXED_ITEMS} items")
        if depth > MAX_DEPTH:
            raise StepError("BadReturn", f"the result is nested deeper than {MAX_DEPTH} levels")
        kind = type(value)
        if value is None or kind in PLAIN:
            return value
        name = self._declared_name(kind)
        if name is not None:
            return Ref(self._intern(value, slot), self.epoch or 0, name)
        # Subclasses of list, tuple and dict (a `class Params(list)` holding the parameters)
        # travel as their base type, read with the base type's own methods: their overrides
        # never run here, and type() cannot be spoofed as isinstance() can.
        if issubclass(kind, list):
            return [self._box(v, depth + 1) for v in list.__iter__(value)]
        if issubclass(kind, tuple):
            return tuple(self._box(v, depth + 1) for v in tuple.__iter__(value))
        if issubclass(kind, dict):
            items = list(dict.items(value))
            if not all(type(k) is str for k, _ in items):
                raise StepError("BadReturn", "returned a dict whose keys are not all strings")
            return {k: self._box(v, depth + 1) for k, v in items}
        if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
            # A copy: a step's result is its value when the step ran. The reply is encoded after
            # the request's last step, and later steps may update the same array in place
            # (`opt.step(g); p = opt.params` read after each step of a batch).
            return np.array(value, copy=True)
        if isinstance(value, np.generic) and value.dtype.kind in NUMERIC_KINDS:
            return value
        if kind is types.GeneratorType:
            raise StepError("BadReturn", "returned a generator, not a value")
        declared = ", ".join(sorted(self.declared.values())) or "none"
        raise StepError(
            "BadReturn",
            f"returned a {_type_name(value)}, which is neither plain data (numbers, strings, "
            f"numeric arrays) nor an object of a class the tests use ({declared})",
        )

    def _declared_name(self, kind: type) -> str | None:
        """The declared class `kind` is, or derives from (the nearest in its MRO): node classes
        such as `class Add(Value)` are Values. The MRO is read from the type's own slot, not
        through attribute lookup a metaclass could answer."""
        name = self.declared.get(id(kind))
        if name is None and self.declared:
            for base in _MRO.__get__(kind)[1:]:
                name = self.declared.get(id(base))
                if name is not None:
                    break
        return name

    def _intern(self, obj: Any, slot: int | None) -> int:
        known = self.ids.get(id(obj))
        if known is not None:
            return known
        if slot is not None and slot not in self.objects:
            ref_id = slot
        else:
            if self.mint >= self.mint_end:
                raise StepError("BadReturn", f"more than {MAX_NEW_IDS} new objects in one request")
            ref_id, self.mint = self.mint, self.mint + 1
        self.objects[ref_id] = obj
        self.ids[id(obj)] = ref_id
        return ref_id


class _Kept:
    """A step's result to be kept by reference whatever its type (see "keep")."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _own(value: Any) -> Any:
    """A kept array is the worker's own writable copy (a decoded array may view the frame)."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    return value


def _no_generator(value: Any) -> Any:
    if type(value) is types.GeneratorType:
        value.close()
        raise StepError("BadReturn", "returned a generator, not a value")
    return value


def _failure(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"type": kind, "message": message}}
