"""The trusted side's view of a student's code: `sub.softmax_loss(Z, y)` calls into the worker.

Hidden tests receive a `Submission` through the `sub` fixture. Arguments are copied across the
boundary, so the student can never mutate the grader's arrays; to check in-place updates a test
asks for the arguments as they were after the call:

    result = sub.softmax_regression_epoch.with_args(X, y, theta, lr=0.1)
    theta_after = result.args[2]

Every failure on the student's side becomes a `StudentError` (an AssertionError, so pytest reports
a plain failure) whose message names the function and says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlhw.autograder.session import Session, WorkerFailure


class StudentError(AssertionError):
    """A student function could not give an answer: it raised, hung, crashed or sent non-data."""


@dataclass(frozen=True)
class CallResult:
    value: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


_FAILURE_TEXT = {
    "timeout": "{name} did not return within the time limit ({detail}); is there an infinite loop?",
    "crash": "{name} crashed: {detail}",
    "protocol": "{name} returned something the grader cannot accept: {detail}",
    "budget": "{name} was not run: {detail}",
}


class RemoteFunction:
    def __init__(self, submission: Submission, name: str) -> None:
        self._submission = submission
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(args, kwargs, return_args=False).value

    def with_args(self, *args: Any, **kwargs: Any) -> CallResult:
        """Call, and also return the arguments as the function left them (in-place updates)."""
        return self._call(args, kwargs, return_args=True)

    def timed(self, timeout_s: float) -> RemoteFunction:
        """The same function with its own per-call time limit (for tests that do more work)."""
        clone = RemoteFunction(self._submission, self.name)
        clone._timeout = timeout_s  # type: ignore[attr-defined]
        return clone

    def _call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], *, return_args: bool
    ) -> CallResult:
        session = self._submission.session
        if session is None:
            raise StudentError(f"{self.name} was not run: {self._submission.unavailable}")
        try:
            reply = session.call(
                self.name,
                args,
                kwargs,
                return_args=return_args,
                timeout=getattr(self, "_timeout", None),
            )
        except WorkerFailure as exc:
            raise StudentError(_FAILURE_TEXT[exc.kind].format(name=self.name, detail=exc)) from None
        if not reply["ok"]:
            raise StudentError(_explain(self.name, reply.get("error")))
        args_after = reply.get("args", [])
        kwargs_after = reply.get("kwargs", {})
        if return_args and (not isinstance(args_after, list) or not isinstance(kwargs_after, dict)):
            raise StudentError(f"{self.name}: the submission sent a malformed reply")
        return CallResult(reply.get("value"), tuple(args_after), dict(kwargs_after))


def _explain(name: str, error: Any) -> str:
    if not isinstance(error, dict):
        return f"{name} failed"
    kind = str(error.get("type", "Exception"))
    message = str(error.get("message", ""))
    if kind == "NotDefined":
        return f"{name} is not defined in your notebook (check the name and that its cell runs)"
    if kind == "NotCallable":
        return f"{name} should be a function, but {message}"
    if kind == "BadReturn":
        return f"{name} returned something the grader cannot accept: {message}"
    if kind == "NotImplementedError":
        return f"{name} is not implemented yet (it raised NotImplementedError)"
    tb = str(error.get("traceback", "")).strip()
    return f"{name} raised {kind}: {message}" + (f"\n\n{tb}" if tb else "")


class Submission:
    """Attribute access gives a callable proxy for the student's function of that name."""

    def __init__(self, session: Session | None, unavailable: str = "") -> None:
        self.session = session
        self.unavailable = unavailable

    def __getattr__(self, name: str) -> RemoteFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteFunction(self, name)

    def put_file(self, name: str, data: bytes) -> str:
        """Make a data file readable by the student's code; returns the path to pass to it."""
        if self.session is None:
            raise StudentError(f"not run: {self.unavailable}")
        return self.session.share_file(name, data)

    def function(self, name: str) -> RemoteFunction:
        return RemoteFunction(self, name)
