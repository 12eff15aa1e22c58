"""Who is at fault when a hidden test cannot get an answer, and what to tell them.

`StudentError` is the student's code failing (it raised, hung, crashed or sent non-data): an
AssertionError, so pytest reports a plain failure. `GraderError` is the test author's mistake
(an undeclared name, an argument that cannot be sent): the reporter says so, and never presents
it as a fault of the student's work.
"""

from __future__ import annotations

import builtins
from typing import Any


class StudentError(AssertionError):
    """A student function could not give an answer: it raised, hung, crashed or sent non-data.

    `raised` names what it raised, when it raised: its exception's class, then the built-in
    classes that class derives from (`raised_by`); a test that expects a ValueError checks
    `"ValueError" in exc.raised` (checks.assert_raises), never the message's wording."""

    def __init__(self, message: str = "", raised: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.raised = raised


class GraderError(Exception):
    """A mistake in a hidden test (or the homework's declarations), not in the student's work."""


class UndeclaredMember(GraderError, AttributeError):
    """A member no declared class has, asked of an object of the submission: the test's mistake
    when the test's own code asks for it. An AttributeError too, as Python's attribute protocol
    requires: `hasattr(obj, name)` and `getattr(obj, name, default)`, with which libraries probe
    an object (numpy asks an object it was given for `.dtype`), see a missing attribute instead
    of a failure that would blame the tests for what the submission returned."""


# What a student who imports scipy, torch or matplotlib in a graded cell needs to know.
MISSING_MODULE_HINT = (
    "The autograder runs your graded cells with NumPy and Python's standard library only: use"
    " NumPy instead, and import plotting or other libraries in cells tagged skip-grading."
)
# ... and one who calls the handout's self-check there ("use NumPy instead" says nothing to them).
SELFCHECK_HINT = (
    "selfcheck.py is for your own machine: the autograder does not have it. Keep"
    " `from selfcheck import check` and `check(...)` in cells tagged skip-grading, as the"
    " notebook's own check cells are."
)


def missing_module_hint(message: str) -> str:
    """The hint for a ModuleNotFoundError whose message (or last traceback line) is `message`."""
    return SELFCHECK_HINT if "No module named 'selfcheck'" in message else MISSING_MODULE_HINT


FAILURE_TEXT = {
    "timeout": "{name} did not return within the time limit ({detail}); is there an infinite loop?",
    "crash": "{name} crashed: {detail}",
    "protocol": "{name} returned something the grader cannot accept: {detail}",
    "budget": "{name} was not run: {detail}",
    "restarts": "{name} was not run: {detail}",
    "given up": "{name} was not run: {detail}",  # the time-out breaker (breaker.py)
}


# At most what the worker itself sends of an error (object_table.describe_error). A patched
# worker can send a whole frame header (4 MiB of JSON, 16 MiB as a Python string) as one message
# for every call: copied into each failed test's feedback, report and staff log, that took
# homework 1's grader to 2 GB (Gradescope gives the whole container 768 MB).
MAX_TYPE, MAX_MESSAGE, MAX_TRACEBACK = 200, 2000, 4000


def error_fields(error: dict[Any, Any]) -> tuple[str, str, str]:
    """An error's type, message and traceback as the worker reported them, cut to their limits
    (the traceback keeps its end, where the exception is)."""
    kind = str(error.get("type", "Exception"))[:MAX_TYPE]
    message = str(error.get("message", ""))[:MAX_MESSAGE]
    tb = str(error.get("traceback", ""))[-MAX_TRACEBACK:]
    return kind, message, tb


def explain(name: str, error: Any) -> str:
    """The student-facing message for an error the worker reported about `name`."""
    if not isinstance(error, dict):
        return f"{name} failed"
    kind, message, tb = error_fields(error)
    base = error.get("base")  # the student's own exception class: what it is a kind of
    # Anything but a string is not the worker's (an array's truth raises). A class named as its
    # base (numpy's _ArrayMemoryError calls itself MemoryError) needs no "a subclass of".
    if type(base) is str and base and base != kind:
        kind = f"{kind} (a subclass of {base[:100]})"
    if kind == "NotDefined":
        return f"{name} is not defined in your notebook (check the name and that its cell runs)"
    if kind == "NotCallable":
        return f"{name} should be a function, but {message}"
    if kind == "NotAClass":
        return f"{name} should be a class, but {message}"
    if kind == "BadReturn":
        return f"{name} returned something the grader cannot accept: {message}"
    if kind in ("BadReference", "ProtocolError"):
        return f"{name} was refused by your notebook's process ({message}): did your code change the grader's state?"
    if kind == "NotImplementedError":
        return f"{name} is not implemented yet (it raised NotImplementedError)"
    tb = tb.strip()
    hint = f"\n\n{missing_module_hint(message)}" if kind == "ModuleNotFoundError" else ""
    return f"{name} raised {kind}: {message}" + (f"\n\n{tb}" if tb else "") + hint


# What the worker reports as an error's type for a step it refused itself (object_table.py):
# nothing the student's code raised.
REFUSED = frozenset({"NotDefined", "NotCallable", "NotAClass", "BadReturn", "BadReference", "ProtocolError"})  # fmt: skip


def raised_by(error: Any) -> tuple[str, ...]:
    """What the student's code raised, as the worker described it: the exception's class name,
    then the built-in classes it derives from ("Own", "ValueError" for `class Own(ValueError)`;
    "ValueError" alone for a ValueError); () for anything else. Plain strings only (the worker
    is not trusted: a forged name can at most fake the student's own exception)."""
    if not isinstance(error, dict):
        return ()
    kind, base = error.get("type"), error.get("base")
    if type(kind) is not str or not kind or kind in REFUSED:
        return ()
    bases = tuple(base[:100].split(" and ")) if type(base) is str and base else ()
    # The worker names a built-in class alone, and a class's most derived built-in bases only:
    # a UnicodeDecodeError is a ValueError too, and a KeyError a LookupError.
    names = (kind[:200], *bases)
    return tuple(dict.fromkeys(n for name in names for n in (name, *_builtin_bases(name))))


def _builtin_bases(name: str) -> tuple[str, ...]:
    """The built-in exception classes the built-in class `name` derives from (not Exception or
    BaseException, which every exception is); () for a name that is not such a class. By name:
    a class of the student's own that takes a built-in's name fakes no more than one named
    after the class it wants to be taken for."""
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        return ()
    return tuple(c.__name__ for c in cls.__mro__[1:] if c not in (Exception, BaseException, object))


def student_error(name: str, error: Any) -> StudentError:
    """The StudentError for an error the worker reported about `name` (see `explain`)."""
    return StudentError(explain(name, error), raised_by(error))
