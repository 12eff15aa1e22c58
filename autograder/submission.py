"""The trusted side's view of a student's code: `sub.softmax_loss(Z, y)` calls into the worker.

Hidden tests receive a `Submission` through the `sub` fixture. Arguments are copied across the
boundary, so the student can never mutate the grader's arrays; to check in-place updates a test
asks for the arguments as they were after the call:

    result = sub.softmax_regression_epoch.with_args(X, y, theta, lr=0.1)
    theta_after = result.args[2]

Classes the homework declares (`classspec.ClassSpec`) are reached the same way and give objects
that stay in the worker (remote.py): `lin = sub.Linear(4, 3); out = lin.forward(X)`; many
operations travel in one round trip inside `with sub.batch(): ...`.

Every failure on the student's side becomes a `StudentError` (an AssertionError, so pytest reports
a plain failure) whose message names the function and says what happened; a mistake of the test
(an undeclared name, an argument that cannot be sent) is a `GraderError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from dlhw.autograder.blame import FAILURE_TEXT, GraderError, StudentError, student_error
from dlhw.autograder.classspec import ClassSpec
from dlhw.autograder.proxies import KeptValue, Operand, Pending, RemoteClass, Step
from dlhw.autograder.remote import Objects
from dlhw.autograder.session import Session, WorkerFailure
from dlhw.autograder.wire.protocol import ProtocolError

__all__ = ["CallResult", "GraderError", "RemoteFunction", "StudentError", "Submission"]


@dataclass(frozen=True)
class CallResult:
    value: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def _has_proxy(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Operand):
        return True
    if depth < 32 and type(value) in (list, tuple):
        return any(_has_proxy(v, depth + 1) for v in value)
    if depth < 32 and type(value) is dict:
        return any(_has_proxy(v, depth + 1) for v in value.values())
    return False


class RemoteFunction:
    def __init__(self, submission: Submission, name: str) -> None:
        self._submission = submission
        self.name = name
        self._timeout: float | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(args, kwargs, return_args=False).value

    def with_args(self, *args: Any, **kwargs: Any) -> CallResult:
        """Call, and also return the arguments as the function left them (in-place updates)."""
        return self._call(args, kwargs, return_args=True)

    def timed(self, timeout_s: float) -> RemoteFunction:
        """The same function with its own per-call time limit (for tests that do more work)."""
        clone = RemoteFunction(self._submission, self.name)
        clone._timeout = timeout_s
        return clone

    def _call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], *, return_args: bool
    ) -> CallResult:
        objects = self._submission.objects
        if objects.classes or objects.queue is not None or _has_proxy((args, kwargs)):
            # Through the object table: arguments may be objects, results may be objects, and
            # calls inside `with sub.batch():` share round trips.
            if return_args and objects.queue is not None:
                raise GraderError(f"{self.name}.with_args cannot be used inside sub.batch()")
            if self._timeout is not None and objects.queue is not None:  # it would not apply
                raise GraderError(
                    f"{self.name}.timed() cannot be used inside sub.batch(): give the batch "
                    "its time limit, sub.batch(timeout=...)"
                )
            step = Step("fnargs" if return_args else "fn", None, self.name, args, kwargs, self.name)
            result = objects.do(step, self._timeout)
            if not return_args:
                return CallResult(result, (), {})
            if not (
                type(result) is list
                and len(result) == 3
                and type(result[1]) is list
                and type(result[2]) is dict
                and len(result[1]) == len(args)
                and set(result[2]) == set(kwargs)
            ):
                raise StudentError(f"{self.name}: the submission sent a malformed reply")
            value, args_after, kwargs_after = result
            return CallResult(value, tuple(args_after), dict(kwargs_after))
        session = self._submission.session
        if session is None:
            raise StudentError(f"{self.name} was not run: {self._submission.unavailable}")
        try:
            reply = session.call(
                self.name, args, kwargs, return_args=return_args, timeout=self._timeout
            )
        except WorkerFailure as exc:
            raise StudentError(FAILURE_TEXT[exc.kind].format(name=self.name, detail=exc)) from None
        except ProtocolError as exc:  # encoding the test's own arguments failed
            raise GraderError(
                f"the test's arguments to {self.name} cannot be sent: {exc}"
            ) from None
        if not reply["ok"]:
            raise student_error(self.name, reply.get("error"))
        reply = objects.check_plain(reply, self.name)
        args_after = reply.get("args", [])
        kwargs_after = reply.get("kwargs", {})
        if return_args and not (
            isinstance(args_after, list)
            and isinstance(kwargs_after, dict)
            and len(args_after) == len(args)  # as many as were sent, under the same names
            and set(kwargs_after) == set(kwargs)
        ):
            raise StudentError(f"{self.name}: the submission sent a malformed reply")
        return CallResult(reply.get("value"), tuple(args_after), dict(kwargs_after))


class Submission:
    """Attribute access gives a callable proxy for the student's function or declared class."""

    def __init__(
        self,
        session: Session | None,
        unavailable: str = "",
        classes: Mapping[str, ClassSpec] | None = None,
        functions: Iterable[str] | None = None,
    ) -> None:
        self.session = session
        self.unavailable = unavailable
        self.objects = Objects(session, classes or {}, unavailable)
        # None: any name is a function (tests of the grader itself); else only those declared.
        self.functions = None if functions is None else frozenset(functions)
        # The functions and classes the running test has used, first used first (the `sub`
        # fixture empties it before each test): the summary counts failed tests by them.
        self.used: dict[str, None] = {}

    def __getattr__(self, name: str) -> RemoteFunction | RemoteClass:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self.objects.classes:
            return self.cls(name)
        return self.function(name)

    def batch(self, timeout: float | None = None) -> AbstractContextManager[None]:
        """Queue the operations of a `with` block and send them in as few round trips as
        possible (a request of up to object_table.MAX_STEPS steps each, `timeout` s each)."""
        return self.objects.batch(timeout)

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Requests made for a hint once a test has failed, not for the test itself: the
        functions they use are not counted as the test's (the summary counts failed tests by
        them), and one that hangs or crashes on the hint's own inputs is not held against it by
        the time-out breaker (later tests call it as before)."""
        used = dict(self.used)
        breaker = getattr(self.session, "breaker", None)
        state = breaker.state() if breaker is not None else None
        try:
            yield
        finally:
            self.used.clear()
            self.used.update(used)
            if breaker is not None and state is not None:
                breaker.restore(state)

    def keep(self, value: Any) -> Any:
        """Leave the test's `value` (an array, or plain data) in the worker. The result stands
        for it: passed to the student's code it is that very object there (not a copy), and
        `.value` (or `sub.value(...)`) reads it back, so a test sees whether the code updated
        its arguments in place or left them alone."""
        return self.objects.do(Step("keep", None, "keep", (value,), {}, "keeping a value"))

    def value(self, result: Any) -> Any:
        """A batch's pending result as the plain data (or object) it turned out to be, a kept
        value read back; any other value as it is. Reads the same where objects are local
        (the students' self-check)."""
        if isinstance(result, Pending):
            result = result.value
        return result.value if isinstance(result, KeptValue) else result

    def repeat(self, body: Callable[[Any], Any], start: Any, times: int) -> Any:
        """`body` applied `times` times, first to `start`, then to its last result, in one step
        of the worker (`v = sub.repeat(lambda v: v * 1.0001, start, times=10_000)`: a chain of
        10,000 nodes). `body` is called once here, to record what it does; only the last result
        comes back. See remote.Objects.repeat."""
        return self.objects.repeat(body, start, times)

    def release(self) -> None:
        """Drop the objects made so far (the `sub` fixture does this after every test)."""
        self.objects.release()

    def put_file(self, name: str, data: bytes) -> str:
        """Make a data file readable by the student's code; returns the path to pass to it."""
        if self.session is None:
            raise StudentError(f"not run: {self.unavailable}")
        return self.session.share_file(name, data)

    def function(self, name: str) -> RemoteFunction:
        if self.functions is not None and name not in self.functions:
            raise GraderError(
                f"{name} is not a function the homework declares for its tests (functions = "
                "[...] in its manifest): a mistake in the test, not the submission"
            )
        self.used[name] = None
        return RemoteFunction(self, name)

    def cls(self, name: str) -> RemoteClass:
        if name not in self.objects.classes:
            raise GraderError(f"class {name} is not declared for the tests (homework manifest)")
        self.used[name] = None
        return RemoteClass(self.objects, name)
