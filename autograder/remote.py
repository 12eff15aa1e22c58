"""The grader's side of objects across the boundary: the table of references, and batches.

A student's object never leaves the worker. The grader holds a `Ref` (an id, the worker
generation that issued it, its class) wrapped in a proxy (proxies.py) whose declared members are
requests (`classspec.ClassSpec`; CPython's managers.py exposes only `exposed` names the same way).
`Objects` runs those requests, checks every reference that crosses, and holds the open batch:

    lin = sub.Linear(4, 3, rng=7)        # a RemoteObject; Linear's __init__ ran in the worker
    out = lin.forward(X)                 # arrays in, arrays out (by value, as for functions)
    lin.W = W0                           # declared attributes can be written
    net = sub.Sequential(lin, sub.ReLU())  # references passed back are the worker's objects again
    with sub.batch():                    # operations queue and return Pending results ...
        c = a * b + a ** 2
        c.backward()
    a.grad                               # ... sent in one round trip when the block ends

Why a batch block rather than transparent pipelining: whether a method returns an object or an
array is only known once it ran, and a test that reads `lin.forward(X)` must get an array at
once. Outside a block every operation is one round trip and returns plain data or a proxy;
inside, operations return `Pending` results that behave as objects (targets, operands,
arguments) and give their value by `.value`, which sends what is queued if need be. A block of
any length is sent in requests of `object_table.MAX_STEPS` steps.

Trust: every Ref in a reply must be one the grader holds, or a new id inside the range it granted
that request (with a declared class); anything else is forged, and the worker is discarded.
Equality, hashing and truth of proxies are local: `a == b` is identity, `bool(a)` is an error.
A Ref of an earlier worker generation (a crash or a time-out restarted the worker) is stale; a
Ref released at the end of its test is refused as the test's mistake.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from dlhw.autograder.blame import (
    FAILURE_TEXT,
    GraderError,
    StudentError,
    UndeclaredMember,
    student_error,
)
from dlhw.autograder.classspec import ClassSpec
from dlhw.autograder.proxies import (
    KEPT_SPEC,
    LOOPED,
    SYMBOLS,
    KeptValue,
    Operand,
    Pending,
    RemoteObject,
    Step,
    declare_hint,
    not_an_object,
    wrong_kind,
)
from dlhw.autograder.wire.protocol import NUMERIC_KINDS, ProtocolError, Ref
from dlhw.autograder.worker.object_table import (
    KEPT,
    LOOP,
    LOOP_KINDS,
    MAX_NEW_IDS,
    MAX_REPEAT,
    MAX_STEPS,
)

if TYPE_CHECKING:
    from dlhw.autograder.session import Session

PLAIN = (bool, int, float, str, complex)
# True while grading.grade holds the objects its run built frozen (gc.freeze), from its first test.
WORLD_FROZEN = False
_FAST = (bool, int, float, str, type(None))  # sent as they are (the protocol checks floats)


class Objects:
    """The grader's table of one submission's objects: live refs, proxies, the open batch."""

    def __init__(
        self, session: Session | None, classes: Mapping[str, ClassSpec], unavailable: str = ""
    ) -> None:
        self.session = session
        self.classes = dict(classes)
        self.unavailable = unavailable
        self.epoch = -1  # the worker generation the live refs belong to
        self.live: dict[int, str] = {}  # ref id -> class name
        self.proxies: dict[int, RemoteObject] = {}
        self.proxy_types: dict[str, type[RemoteObject]] = {}
        self.next_id = 0
        self.release_point = (-1, 0)  # (epoch, id): references below it were released
        self.sent = False  # the worker may hold objects of ours (release at the end of a test)
        self.queue: list[Step] | None = None  # the open batch
        self.recording = False  # a repeat's body is being recorded (see `repeat`)
        self.loop_body: set[int] = set()  # ids of the steps of the repeat's body being sent
        self.batch_timeout: float | None = None
        self.resent: list[str] = []  # labels of steps whose plain results a request sends back
        self.methods = {m for s in self.classes.values() for m in s.methods}
        self.attributes = {a for s in self.classes.values() for a in s.attributes}
        self.operators = {o for s in self.classes.values() for o in s.operators}

    # ---- running steps ---------------------------------------------------------------------

    def do(self, step: Step, timeout: float | None = None) -> Any:
        """Run a step now, or queue it in the open batch (then its result is a Pending)."""
        if self.queue is not None:
            step.result = Pending(self, step)
            self.queue.append(step)
            return step.result
        self.execute([step], timeout)
        return step.value

    @contextlib.contextmanager
    def batch(self, timeout: float | None = None) -> Iterator[None]:
        if self.queue is not None:  # nested: part of the enclosing batch
            if timeout is not None and timeout != self.batch_timeout:  # it would not apply
                raise GraderError(
                    f"sub.batch(timeout={timeout:g}) inside another sub.batch() (timeout="
                    f"{self.batch_timeout}): an inner batch is part of the outer one, whose "
                    "time limit applies; give the outer batch the limit"
                )
            yield
            return
        self.queue, self.batch_timeout = [], timeout
        # The grader's older objects (pytest, torch, the oracles) are left out of the collections
        # the block's thousands of new proxies trigger, as the worker does for its requests.
        # A grading run froze them when its tests started (grading.grade): nothing more to do.
        # (Asked of a flag: gc.get_freeze_count() walks every frozen object, ~6 ms a call.)
        freeze = not WORLD_FROZEN
        if freeze:
            gc.freeze()
        try:
            yield
        except BaseException:
            for step in self.queue or []:
                step.state = "cancelled"
            raise
        else:
            steps, self.queue = self.queue or [], None
            self.execute(steps, timeout)
        finally:
            self.queue = None
            if freeze:
                gc.unfreeze()

    def repeat(self, body: Any, start: Any, times: int) -> Any:
        """`body(body(...body(start)))`, `times` deep, run in the worker as one step.

        `body` is called once, here, on a stand-in for the loop value: the operations it does
        (operators, declared methods and attributes, functions and classes of the submission)
        are recorded, and the worker runs them `times` times, each time on the last time's
        result. Only the last result comes back (a Pending in a batch, else the object or
        value); what the body computed on the way is not kept, so a chain of 10,000 nodes costs
        one step instead of 10,000 (their encoding, decoding, boxing and proxies: ~0.5 s).
        Members used in the body are checked against every class's declarations (as a pending
        target's are), not against the class each value turns out to be."""
        if type(times) is not int or not 1 <= times <= MAX_REPEAT:
            raise GraderError(f"sub.repeat: times must be an int from 1 to {MAX_REPEAT:,}")
        if self.recording:
            raise GraderError("sub.repeat inside the body of another sub.repeat")
        loop = Step("loop", None, "", (), {}, "the repeated value", state="looped", slot=0)
        loop.result = Pending(self, loop)
        outer, self.queue, self.recording = self.queue, [], True
        try:
            out = body(loop.result)
            steps = self.queue
        finally:
            self.queue, self.recording = outer, False
        # The body's values exist only in the worker, one time at a time: used anywhere but in
        # the body's own steps (which _wire sends as references to this time's values), or
        # read, they are the test's mistake (the stand-in, at slot 0, has been so all along).
        for j, step in enumerate(steps, 1):
            step.state, step.slot = "looped", j
        result = next((j for j, s in enumerate(steps, 1) if s.result is out), 0)
        if not result:
            got = "its argument" if out is loop.result else f"a {type(out).__name__}"
            raise GraderError(
                "the body of sub.repeat must return the result of an operation it did on its "
                f"argument (it returned {got})"
            )
        if len(steps) > MAX_STEPS:  # the worker refuses it (ProtocolError): not the student's
            raise GraderError(f"sub.repeat's body has {len(steps):,} steps, over {MAX_STEPS:,}")
        odd = sorted({step.kind for step in steps} - LOOP_KINDS)
        if odd:
            raise GraderError(
                f"sub.repeat's body may hold operators, declared methods and attributes, and "
                f"calls of functions and classes, not {', '.join(odd)}"
            )
        for step in steps:  # every time gets the same arguments: only immutable ones (numbers)
            for arg in (*step.args, *step.kwargs.values()):
                if not (
                    arg is None
                    or type(arg) in PLAIN
                    or isinstance(arg, Operand)
                    or (isinstance(arg, np.generic) and arg.dtype.kind in NUMERIC_KINDS)
                ):
                    raise GraderError(
                        f"sub.repeat's body passed {step.label} a {type(arg).__name__}: only "
                        "numbers, strings and objects of the submission (every time would get "
                        "the one copy, which the submission's code may change)"
                    )
        what = steps[0].label if len(steps) == 1 else _batch_label(steps)
        # args: the loop stand-in and the body's steps, each at its slot; the result's slot
        step = Step(
            "repeat",
            start,
            "",
            (times, [loop, *steps], result),
            {},
            f"{what}, repeated {times:,} times",
        )
        return self.do(step)

    def flush(self) -> None:
        """Send what the open batch has queued; the batch stays open."""
        if self.recording:
            raise GraderError(
                "a value was read in the body of sub.repeat, which is recorded, not run (the "
                "worker runs it, many times): read values before sub.repeat, or from what it "
                "returns"
            )
        if self.queue:
            steps, self.queue = self.queue, []
            self.execute(steps, self.batch_timeout)

    def execute(self, steps: list[Step], timeout: float | None = None) -> None:
        try:
            for start in range(0, len(steps), MAX_STEPS):
                self._run(steps[start : start + MAX_STEPS], timeout)
        finally:
            for step in steps:
                if step.state in ("queued", "sending"):
                    step.state = "cancelled"

    def _run(self, chunk: list[Step], timeout: float | None) -> None:
        label = chunk[0].label if len(chunk) == 1 else _batch_label(chunk)
        if self.session is None:
            raise StudentError(f"{chunk[0].label} was not run: {self.unavailable}")
        from dlhw.autograder.session import WorkerFailure

        try:
            generation = self.session.live_generation()
        except WorkerFailure as exc:
            raise StudentError(FAILURE_TEXT[exc.kind].format(name=label, detail=exc)) from None
        if generation != self.epoch:  # a new worker: every ref held so far is stale
            self.epoch, self.live, self.proxies, self.next_id = generation, {}, {}, 0
        first = self.next_id
        for i, step in enumerate(chunk):
            step.slot, step.state = first + i, "sending"
        self.resent = []
        wire = [self._wire_step(step) for step in chunk]
        self.next_id = first + len(chunk) + MAX_NEW_IDS  # granted, whether used or not
        message = {
            "op": "objects",
            "epoch": self.epoch,
            "first_id": first,
            "classes": sorted(self.classes),
            "steps": wire,
        }
        self.sent = True
        try:
            reply = self.session.request(message, timeout)
        except WorkerFailure as exc:
            raise StudentError(FAILURE_TEXT[exc.kind].format(name=label, detail=exc)) from None
        except ProtocolError as exc:
            if self.resent:  # it carries values the submission computed: those may not fit
                raise StudentError(
                    f"{label} was not run: it uses what {self.resent[0]} returned, which "
                    f"cannot be sent back to your code ({exc})"
                ) from None
            raise GraderError(f"the test's arguments to {label} cannot be sent: {exc}") from None
        if not reply.get("ok"):
            raise student_error(label, reply.get("error"))
        values, error = reply.get("values"), reply.get("error")
        failed_at = error.get("step") if isinstance(error, dict) else None
        if (
            not isinstance(values, list)
            or not (error is None or type(failed_at) is int)
            or len(values) != (len(chunk) if error is None else failed_at)
            or len(values) > len(chunk) - (error is not None)  # a failed step is one of the chunk
        ):
            self._forged(label, "a malformed reply")
        adopted = [
            self._adopt_kept(v, step, label)
            if step.kind == "keep"
            else self._adopt(v, first, len(chunk), label, 0)
            for step, v in zip(chunk, values, strict=False)
        ]
        for step, value in zip(chunk, adopted, strict=False):
            step.value, step.state = value, "done"
        for step in chunk[: len(values) + (error is not None)]:
            self._check_member(step)
        for step in chunk[: len(values)]:
            if step.kind == "new" and not isinstance(step.value, RemoteObject):
                step.state = "failed"
                raise StudentError(
                    f"calling {step.name}(...) gave a {type(step.value).__name__}, not a "
                    f"{step.name} object: does the class's __new__ return something else?"
                )
        if error is not None:
            failed = chunk[len(values)]
            failed.state = "failed"
            plain = _plain_operand(failed)
            if plain is not None:  # Python's own operator failed on it, not the student's
                what = f"`{SYMBOLS[failed.name]}`"
                raise StudentError(not_an_object(what, _label(plain), plain.value))
            if failed.kind == "repeat":
                raise student_error(_repeat_label(failed, error, self.classes), error)
            raise student_error(_label(failed), error)

    def undeclared(self, cls: str, what: str, name: str) -> Exception:
        """A member this object's class does not declare: the test's mistake when no class
        declares it; else a method most likely returned the wrong kind of object."""
        if name in self.methods or name in self.attributes:
            return StudentError(wrong_kind(cls, f".{name}"))
        return UndeclaredMember(declare_hint(cls, what, name))

    def _forged(self, label: str, what: str) -> NoReturn:
        assert self.session is not None
        self.session.discard_worker()
        raise StudentError(
            f"{label}: your notebook's process sent {what}, which the grader never issued or "
            "cannot accept; the process was restarted (did your code tamper with the grader?)"
        )

    def _check_member(self, step: Step) -> None:
        """A member used on a Pending is checked against the class it turned out to be."""
        if not step.member or not isinstance(step.target, Pending):
            return
        obj = step.target._step.value
        if not isinstance(obj, RemoteObject):
            target = step.target._step
            raise StudentError(not_an_object(f".{step.name}", _label(target), obj))
        if step.name not in getattr(obj._spec, step.member):
            raise self.undeclared(obj._ref.cls, step.member, step.name)

    # ---- what crosses: the test's values out, the worker's values in -------------------------

    def _wire_step(self, step: Step) -> list[Any]:
        label = step.label
        target = None if step.target is None else self._wire(step.target, label, 0)
        if step.kind == "repeat":
            times, body, result = step.args
            self.loop_body = {id(s) for s in body}
            try:
                wired = [self._wire_step(s) for s in body[1:]]
            finally:
                self.loop_body = set()
            return [step.kind, target, step.name, [times, wired, result]]
        args = [a if type(a) in _FAST else self._wire(a, label, 1) for a in step.args]
        if not step.kwargs:
            return [step.kind, target, step.name, args]
        return [step.kind, target, step.name, args, self._wire(step.kwargs, label, 0)]

    def _wire(self, value: Any, label: str, depth: int) -> Any:
        """The test's value as plain data, its proxies as refs; anything else is its mistake."""
        kind = type(value)
        if value is None or kind in PLAIN:
            return value
        if isinstance(value, RemoteObject):  # the test's own value: isinstance is safe here
            return self._ref_of(value, label)
        if kind is Pending:
            step = value._step
            if step.state == "looped":
                if id(step) in self.loop_body:  # this time's value, in the worker's loop
                    return Ref(step.slot, self.epoch, LOOP)
                raise GraderError(f"{label} uses {LOOPED}")
            if step.state == "done":
                if isinstance(step.value, RemoteObject):
                    return self._wire(step.value, label, depth)
                # Plain data the submission computed, sent back: if it cannot be sent, that is
                # the submission's doing, not the test's (see _run).
                self.resent.append(step.label)
                try:
                    return self._wire(step.value, label, depth)
                except GraderError as exc:
                    raise StudentError(
                        f"{label} was not run: it uses what {step.label} returned, which "
                        f"cannot be sent back to your code ({exc})"
                    ) from None
            if step.state == "sending" and step.result is value:
                return Ref(step.slot, self.epoch, "pending")
            raise StudentError(
                f"{label} was not run: it uses the result of {step.label}, which was not computed"
                + (" (it failed)" if step.state in ("failed", "cancelled") else "")
            )
        if depth > 32:
            raise GraderError(f"the test's arguments to {label} are nested too deeply")
        if kind is list or kind is tuple:
            return kind(self._wire(v, label, depth + 1) for v in value)
        if kind is dict:
            if not all(type(k) is str for k in value):
                raise GraderError(f"the test passed {label} a dict with keys that are not strings")
            return {k: self._wire(v, label, depth + 1) for k, v in value.items()}
        if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in NUMERIC_KINDS:
            return value
        if kind is np.random.Generator:  # sent by value (wire/generators.py)
            return value
        raise GraderError(
            f"the test passed {label} a {kind.__module__}.{kind.__qualname__}, which cannot be "
            "sent to the submission (only plain data, numeric arrays and the submission's objects)"
        )

    def _ref_of(self, obj: RemoteObject, label: str) -> Ref:
        if obj._objects is not self:
            raise GraderError(f"the test passed {label} an object of another submission")
        ref = obj._ref
        if (ref.epoch, ref.id) < self.release_point:  # made before the last release
            raise GraderError(
                f"the test used a {ref.cls} in {label} after it was released (objects are "
                "released when the test that made them ends: make them in each test)"
            )
        if ref.epoch != self.epoch:
            raise StudentError(
                f"{label} was not run: the {ref.cls} it uses was lost when your notebook's "
                "process was restarted (after a crash or time-out earlier in this test)"
            )
        if self.live.get(ref.id) != ref.cls:
            raise GraderError(f"the test used a {ref.cls} in {label} that the grader does not hold")
        return ref

    def _adopt(self, value: Any, first: int, count: int, label: str, depth: int) -> Any:
        """The worker's value with every Ref checked and wrapped in its (one) proxy."""
        kind = type(value)
        if kind is Ref:
            known = self.live.get(value.id)
            fresh = (
                known is None
                and first <= value.id < first + count + MAX_NEW_IDS
                and value.cls in self.classes
            )
            if value.epoch != self.epoch or not (known == value.cls or fresh):
                self._forged(label, f"a reference to object {value.id} of class {value.cls!r}")
            if fresh:
                self.live[value.id] = value.cls
                self.proxies[value.id] = self._proxy_type(value.cls)(
                    self, value, self.classes[value.cls]
                )
            return self.proxies[value.id]
        if depth > 34:  # the decoder already bounds nesting
            self._forged(label, "a value nested too deeply")
        if kind is list or kind is tuple:
            return kind(self._adopt(v, first, count, label, depth + 1) for v in value)
        if kind is dict:
            return {k: self._adopt(v, first, count, label, depth + 1) for k, v in value.items()}
        return value

    def _adopt_kept(self, value: Any, step: Step, label: str) -> KeptValue:
        """A keep step's result: exactly a reference to the id that step was given (a kept
        value is never adopted from any other reply, so the student cannot make one)."""
        if value != Ref(step.slot, self.epoch, KEPT):
            self._forged(label, "a malformed reference to a kept value")
        self.live[step.slot] = KEPT
        proxy = self.proxies[step.slot] = KeptValue(self, value, KEPT_SPEC)
        return proxy

    def _proxy_type(self, cls: str) -> type[RemoteObject]:
        """A RemoteObject subclass named after the class (MakeProxyType's idea): a check that
        says what came back says "it is Linear", not "it is RemoteObject"."""
        kind = self.proxy_types.get(cls)
        if kind is None:
            namespace = {"__slots__": (), "__module__": "submission", "__qualname__": cls}
            kind = self.proxy_types[cls] = type(cls, (RemoteObject,), namespace)
        return kind

    def check_plain(self, value: Any, label: str) -> Any:
        """A reply to a plain function call: any Ref in it is forged (none was asked for)."""
        return self._adopt(value, 0, -MAX_NEW_IDS, label, 0)

    def release(self) -> None:
        """Drop every object the test made (the worker runs their finalizers now)."""
        generation = None if self.session is None else self.session.running_generation()
        self.live, self.proxies = {}, {}
        self.release_point = (self.epoch, self.next_id)
        if not self.sent or generation is None or generation != self.epoch:
            return
        self.sent = False
        from dlhw.autograder.session import WorkerFailure

        assert self.session is not None
        try:
            self.session.request({"op": "release"})
        except WorkerFailure as exc:
            raise StudentError(
                FAILURE_TEXT[exc.kind].format(
                    name="releasing this test's objects (their __del__ methods)", detail=exc
                )
            ) from None


# ---- proxies -------------------------------------------------------------------------------


def _batch_label(chunk: list[Step]) -> str:
    """How messages name a request of several steps: "200 calls of f" when all call the one
    function f (a test's loop over seeds), else "a batch of N operations"."""
    names = {step.name if step.kind in ("fn", "fnargs") else None for step in chunk}
    if len(names) == 1 and None not in names:
        return f"{len(chunk)} calls of {names.pop()}"
    return f"a batch of {len(chunk)} operations"


def _plain_operand(step: Step) -> Step | None:
    """For an operator step that failed: the earlier step whose result, plain data, stands where
    the test used an object. None as an operand is always one (a method that forgot `return`:
    no test means it, and the student's operator then fails on it); other plain data only when
    no operand is an object of the submission (Python's own operator failed, not the student's).
    None when there is no such step."""
    if step.kind != "op":
        return None
    done = [o._step for o in step.args if isinstance(o, Pending) and o._step.state == "done"]
    forgotten = [p for p in done if p.value is None]
    if forgotten:
        return forgotten[0]
    objects = [o for o in step.args if isinstance(o, RemoteObject)]
    plain = [p for p in done if not isinstance(p.value, RemoteObject)]
    return plain[0] if plain and not objects and len(plain) == len(done) else None


def _repeat_label(step: Step, error: dict[str, Any], classes: Mapping[str, ClassSpec]) -> str:
    """How messages name the body step a repeat failed at, and when, as the worker says (the
    submission's process: a malformed answer just names the repeat)."""
    times, body, _ = step.args
    at = error.get("repeat")
    if not (
        type(at) is list
        and len(at) == 3
        and type(at[0]) is int
        and type(at[1]) is int
        and 0 <= at[0] < times
        and 0 <= at[1] < len(body) - 1
    ):
        return step.label
    label = body[at[1] + 1].label
    # The body's values were "object" when recorded; the worker names that time's loop value's
    # class, which the grader accepts only if declared (a string first: a list or an array sent
    # there made `in` raise TypeError, unhashable, and the test "could not complete").
    cls = at[2] if type(at[2]) is str and at[2] in classes else "object"
    if label.endswith(" on object"):
        label = label[: -len("object")] + cls
    elif label.startswith("object."):
        label = cls + label[len("object") :]
    return f"{label} (repetition {at[0] + 1:,} of {times:,})"


def _label(step: Step) -> str:
    """How messages name a step, with the class its pending target (or, for an operator, its
    first object operand) turned out to be."""
    if step.kind == "op":
        for operand in step.args:
            obj = operand._resolved() if isinstance(operand, Pending) else operand
            if isinstance(obj, RemoteObject):
                return f"`{SYMBOLS[step.name]}` on {obj._ref.cls}"
        return step.label
    target = step.target._resolved() if isinstance(step.target, Pending) else None
    if target is None or step.kind not in ("call", "get", "set"):
        return step.label
    name = f"{target._ref.cls}.{step.name}"
    return f"setting {name}" if step.kind == "set" else name
