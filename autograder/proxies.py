"""Proxies of a student's objects, on the grader's side: what a hidden test holds and uses.

`RemoteObject` stands for one object in the worker (named after its class, as CPython's
`MakeProxyType` builds a proxy type from the exposed names); `Pending` for the result of an
operation queued in a batch; `RemoteMethod` and `RemoteClass` for a declared method and class.
Every member use becomes a `Step` that `remote.Objects` runs or queues. Python looks operators
up on the type, so they are defined on `Operand`, the proxies' base class; equality, hashing
and truth are defined there too, and stay local.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dlhw.autograder.blame import GraderError, StudentError, UndeclaredMember
from dlhw.autograder.classspec import ClassSpec
from dlhw.autograder.wire.operators import BINARY, REFLECTED_COMPARISON, UNARY
from dlhw.autograder.wire.protocol import Ref

if TYPE_CHECKING:
    from dlhw.autograder.remote import Objects

SYMBOLS = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
    "pow": "**", "matmul": "@", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
    "neg": "unary -", "pos": "unary +", "abs": "abs()",
}  # fmt: skip


def declare_hint(cls: str, what: str, name: str) -> str:
    return (
        f"{cls}.{name} is not declared for the tests: add {name!r} to the {what} of "
        f"[classes.{cls}] in the homework's manifest (a mistake in the test, not the submission)"
    )


@dataclass(eq=False)
class Step:
    """One operation: what the worker runs, and its outcome once it ran."""

    kind: str  # new | fn | fnargs | call | get | set | op | keep | value | repeat (| loop)
    target: Operand | None
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    label: str  # how messages name it: "Linear.forward", "`*` on Value"
    member: str = ""  # "methods" / "attributes" when the target's class is checked after the run
    state: str = "queued"  # queued | sending | done | failed | cancelled | looped (repeat's body)
    value: Any = None
    slot: int = -1  # the id later steps of the same request know the result by
    result: Pending | None = field(default=None, repr=False)


LOOPED = (
    "a value computed in the body of sub.repeat, which exists only in the worker while the body "
    "runs: use what sub.repeat returns"
)


def _refuse(what: str) -> StudentError:
    """An object of the submission where the test needs plain data: a method returned an object
    where a number or array was expected (a test that does this on purpose fails on the
    reference too, so its author sees it)."""
    return StudentError(
        f"{what} of an object of your submission was needed where the tests expect plain "
        "data: return numbers or numpy arrays there, not objects (equality, truth and "
        "conversions of objects are never asked of your code)"
    )


def not_an_object(what: str, label: str, value: Any) -> str:
    """`what` (".backward", "`-`") was used on what `label` gave, plain data where the test
    needs an object of the submission: most often None, from a method that forgot `return`."""
    if value is None:  # whatever the test expected there, it was not None
        return (
            f"{what} was used on the result of {label}, which is None: did it forget to `return`?"
        )
    return (
        f"{what} was used on the result of {label}, which should be an object of your "
        f"submission but is {type(value).__name__}"
    )


def wrong_kind(cls: str, what: str) -> str:
    return (
        f"{what} was used on a {cls} of your submission, which the tests do not use that way: "
        f"did a function or method return a {cls} where something else was expected?"
    )


class Operand:
    """Operators of proxies: requests to the worker, when the class declares them.
    Python looks operators up on the type, so they are defined here, on the class."""

    __slots__ = ()
    __array_ufunc__ = None  # numpy defers to our reflected operators (`2.0 * v`)
    _objects: Objects

    def _declares(self, op: str) -> bool:
        raise NotImplementedError

    def _class_name(self) -> str:
        raise NotImplementedError

    def _operator(self, op: str, operands: tuple[Any, ...]) -> Any:
        if not self._declares(op):
            if op not in self._objects.operators:  # no class declares it: the test's mistake
                raise GraderError(declare_hint(self._class_name(), "operators", op))
            # Declared for another class: the other operand may take it (Python then tries its
            # reflected method); else a method returned the wrong kind of object.
            other = operands[1] if operands[0] is self and len(operands) == 2 else None
            if isinstance(other, Operand) and other._declares(op):
                return NotImplemented
            raise StudentError(wrong_kind(self._class_name(), f"`{SYMBOLS[op]}`"))
        label = f"`{SYMBOLS[op]}` on {self._class_name()}"
        return self._objects.do(Step("op", None, op, operands, {}, label))

    def __eq__(self, other: object) -> bool:  # identity: never the student's __eq__
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        raise _refuse("the truth value")

    def __len__(self) -> int:
        raise _refuse("the length")

    def __iter__(self) -> Iterator[Any]:
        raise _refuse("iteration")

    def __float__(self) -> float:
        raise _refuse("float()")

    def __int__(self) -> int:
        raise _refuse("int()")

    def __index__(self) -> int:
        raise _refuse("an index")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        # numpy would otherwise wrap the object in an object array and compute on it, sending
        # the submission its own operators and asking the proxy for names no class declares
        # (`abs`, `<=`, `.conjugate`): failures that would read as the tests' mistakes.
        raise _refuse("a numpy array")

    def __pow__(self, other: Any, modulo: Any = None) -> Any:
        if modulo is not None:
            raise GraderError("pow() with a modulus is not supported for objects")
        return self._operator("pow", (self, other))

    def __rpow__(self, other: Any) -> Any:
        return self._operator("pow", (other, self))


def _binary(op: str, reflected: bool) -> Any:
    def method(self: Operand, other: Any) -> Any:
        if reflected:
            return self._operator(op, (other, self))
        return self._operator(op, (self, other))

    return method


def _unary(op: str) -> Any:
    def method(self: Operand) -> Any:
        return self._operator(op, (self,))

    return method


for _op in BINARY:
    if _op != "pow":  # pow takes an optional modulus: defined above
        setattr(Operand, f"__{_op}__", _binary(_op, reflected=False))
        if _op not in REFLECTED_COMPARISON:  # `2 < a` is tried as `a > 2` by Python itself
            setattr(Operand, f"__r{_op}__", _binary(_op, reflected=True))
for _op in UNARY:
    setattr(Operand, f"__{_op}__", _unary(_op))


class RemoteObject(Operand):
    """A student's object, by reference: its declared members are requests to the worker."""

    __slots__ = ("_objects", "_ref", "_spec")

    def __init__(self, objects: Objects, ref: Ref, spec: ClassSpec) -> None:
        object.__setattr__(self, "_objects", objects)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_spec", spec)

    def _declares(self, op: str) -> bool:
        return op in self._spec.operators

    def _class_name(self) -> str:
        return self._ref.cls

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        cls = self._ref.cls
        if name in self._spec.methods:
            return RemoteMethod(self, name, f"{cls}.{name}")
        if name in self._spec.attributes:
            return self._objects.do(Step("get", self, name, (), {}, f"{cls}.{name}"))
        raise self._objects.undeclared(cls, "methods or attributes", name)

    def __setattr__(self, name: str, value: Any) -> None:
        cls = self._ref.cls
        if name not in self._spec.attributes:
            raise self._objects.undeclared(cls, "attributes", name)
        self._objects.do(Step("set", self, name, (value,), {}, f"setting {cls}.{name}"))

    def __dir__(self) -> list[str]:
        return sorted({*self._spec.methods, *self._spec.attributes})

    def __repr__(self) -> str:
        return f"<{self._ref.cls} #{self._ref.id} of the submission>"


KEPT_SPEC = ClassSpec()  # a kept value has no members the test can reach but `.value`


class KeptValue(RemoteObject):
    """A value of the test's own kept in the worker (`sub.keep(x)`): passed as an argument it
    is that very object there, so a test sees what the student's code did to it (updated in
    place, or left alone); `.value` reads it back by value."""

    __slots__ = ()

    @property
    def value(self) -> Any:
        return self._objects.do(Step("value", self, "value", (), {}, "reading a kept value back"))

    def __repr__(self) -> str:
        return f"<value #{self._ref.id} kept in the submission's process>"


class Pending(Operand):
    """The result of an operation queued in a batch: a target, operand or argument for later
    operations; `.value` is the plain data or RemoteObject it turned out to be."""

    __slots__ = ("_objects", "_step")

    def __init__(self, objects: Objects, step: Step) -> None:
        object.__setattr__(self, "_objects", objects)
        object.__setattr__(self, "_step", step)

    @property
    def value(self) -> Any:
        step = self._step
        if step.state == "queued" and self._objects.queue is not None:
            self._objects.flush()
        if step.state == "done":
            return step.value
        if step.state == "looped":
            raise GraderError(f"reading {LOOPED}")
        raise StudentError(f"{step.label} has no value: it failed or was not run")

    def _resolved(self) -> RemoteObject | None:
        value = self._step.value if self._step.state == "done" else None
        return value if isinstance(value, RemoteObject) else None

    def _declares(self, op: str) -> bool:
        obj = self._resolved()
        return obj._declares(op) if obj is not None else op in self._objects.operators

    def _class_name(self) -> str:
        obj = self._resolved()
        return obj._ref.cls if obj is not None else "object"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        obj = self._resolved()
        if obj is not None:
            return getattr(obj, name)
        if self._step.state == "done":
            raise StudentError(not_an_object(f".{name}", self._step.label, self._step.value))
        objects = self._objects
        if name in objects.methods and name not in objects.attributes:
            return RemoteMethod(self, name, f"object.{name}", member="methods")
        if name in objects.attributes and name not in objects.methods:
            step = Step("get", self, name, (), {}, f"object.{name}", member="attributes")
            return objects.do(step)
        raise UndeclaredMember(
            f".{name} of a pending result is ambiguous or not declared by any class: "
            "declare it, or use .value first"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        obj = self._resolved()
        if obj is not None:
            setattr(obj, name, value)
            return
        if name not in self._objects.attributes:
            raise GraderError(f"{name} is not a declared attribute of any class")
        label = f"setting object.{name}"
        self._objects.do(Step("set", self, name, (value,), {}, label, member="attributes"))

    def __repr__(self) -> str:
        return f"<pending result of {self._step.label}: {self._step.state}>"


class RemoteMethod:
    """A declared method of a remote object (or of a pending one), bound to it."""

    def __init__(self, target: Operand, name: str, label: str, member: str = "") -> None:
        self.target, self.name, self.label, self.member = target, name, label, member

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        step = Step("call", self.target, self.name, args, kwargs, self.label, self.member)
        return self.target._objects.do(step)

    def __repr__(self) -> str:
        return f"<method {self.label} of the submission>"


class RemoteClass:
    """A declared class of the submission: calling it makes an object in the worker."""

    def __init__(self, objects: Objects, name: str) -> None:
        self.objects, self.name = objects, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.objects.do(Step("new", None, self.name, args, kwargs, self.name))

    def __instancecheck__(self, obj: object) -> bool:
        """`isinstance(x, sub.Linear)`: x is a proxy (or finished pending result) of a Linear."""
        target = obj._resolved() if isinstance(obj, Pending) else obj
        return isinstance(target, RemoteObject) and target._ref.cls == self.name

    def __repr__(self) -> str:
        return f"<class {self.name} of the submission>"
