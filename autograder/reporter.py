"""A pytest plugin that turns test outcomes into Gradescope test entries.

Hidden tests are ordinary pytest functions; points, visibility, tags and numbering ride on markers:

    @pytest.mark.points(2)
    @pytest.mark.visibility("after_published")   # hidden | after_due_date | after_published | visible
    @pytest.mark.tags("loss", "stability")
    @pytest.mark.number("2.1")                    # default: order of collection
    def test_large_logits(sub): ...

The first line of a test's docstring is its name on Gradescope (a parametrized test's name ends
with its case's id: "trajectory like torch.optim [Adam]"). A failing test's output is the
exception's message only, never the test's source or traceback, which would reveal hidden tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from dlhw.autograder import feedback
from dlhw.autograder.results import VISIBILITIES
from dlhw.autograder.submission import GraderError, StudentError

MARKERS = (
    "points(n): points the test is worth (default 1)",
    "visibility(v): when students see the test: hidden, after_due_date, after_published, visible",
    "tags(*names): Gradescope tags",
    "number(s): Gradescope test number such as '1.2' (default: collection order)",
)


@dataclass(frozen=True)
class TestEntry:
    nodeid: str
    name: str
    number: str
    max_score: float
    visibility: str
    tags: tuple[str, ...]
    score: float = 0.0
    status: str = "failed"  # "passed" | "failed"
    output: str = "not run"  # Markdown (feedback.FORMAT)
    extra_data: tuple[tuple[str, Any], ...] = ()  # figures of a mismatch, for gradebooks
    grader_error: bool = False  # failed by the test's own mistake (a GraderError), not the work's
    uses: tuple[str, ...] = ()  # the student's functions and classes the test used (`sub.NAME`)

    def to_json(self) -> dict[str, Any]:
        entry = {
            "name": self.name,
            "number": self.number,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "visibility": self.visibility,
            "tags": list(self.tags),
            "output": self.output,
            "output_format": feedback.FORMAT,
        }
        if self.extra_data:
            entry["extra_data"] = dict(self.extra_data)
        return entry


def _marker_arg(item: pytest.Item, name: str, default: Any) -> Any:
    marker = item.get_closest_marker(name)
    return marker.args[0] if marker is not None and marker.args else default


GRADER_ERROR = "The autograder could not run this test"


# A test's message may quote what the submission returned (`f"got {value!r}"`), and a reply may
# be a string of megabytes: a hw5 test quoting one held 228 MB in the grader (its feedback, the
# report and pytest's log each kept a copy). Messages are cut here, whatever a test writes:
# `pytest.fail(...)` (whose message is its `msg`), an exception of several arguments, and those
# it was raised from or while handling (`raise AssertionError(...) from exc` after `float(got)`
# failed), which pytest's log shows with their notes, and what a test printed.
MAX_MESSAGE_CHARS = 20_000
MAX_CHAINED = 32  # exceptions of one chain (`__cause__`, `__context__`) looked at


def _cut(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return (
        f"{text[:MAX_MESSAGE_CHARS]}\n... ({len(text) - MAX_MESSAGE_CHARS:,} more characters cut)"
    )


def _shorten(exc: BaseException) -> None:
    """Cut the message of a test's exception, of those chained to it and of their notes to
    MAX_MESSAGE_CHARS each (in place: pytest's log and the feedback both read them from the
    exceptions)."""
    seen: set[int] = set()
    chain: list[BaseException | None] = [exc]
    while chain and len(seen) < MAX_CHAINED:
        one = chain.pop()
        if one is None or id(one) in seen:
            continue
        seen.add(id(one))
        chain += [one.__cause__, one.__context__]
        try:
            text = str(one)
            if len(text) > MAX_MESSAGE_CHARS:
                one.args = (_cut(text),)  # whatever arguments made the message
                if isinstance(getattr(one, "msg", None), str):  # pytest.fail's and skip's
                    one.msg = one.args[0]  # type: ignore[attr-defined]
            notes = getattr(one, "__notes__", None)
            if isinstance(notes, list):
                one.__notes__ = [_cut(n) if isinstance(n, str) else n for n in notes]  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a message that cannot be made (or changed) stays
            continue


def _message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    exc = excinfo.value
    if isinstance(exc, GraderError):
        return (
            f"{GRADER_ERROR}: {exc}\nThis is a mistake in the test, not in your work; "
            "course staff have been told."
        )
    if isinstance(exc, StudentError):
        return str(exc).strip()
    if isinstance(exc, AssertionError):
        # Only the message the test wrote. Grading turns assertion rewriting off; should a
        # rewritten explanation get here anyway, its lines (`assert <expr>`, `+ where ...`) are
        # the test's code and are cut.
        text = str(exc).strip()
        cut = [
            i
            for i, ln in enumerate(text.splitlines())
            if ln.startswith(("assert ", "AssertionError"))
        ]
        text = "\n".join(text.splitlines()[: cut[0]]).strip() if cut else text
        return text or "a check failed"
    # Anything else comes from the test code itself: say so without showing that code.
    return f"the test could not complete: {type(exc).__name__}: {exc}"


class GradescopeReporter:
    """Collects one `TestEntry` per test; the grader turns them into results.json."""

    def __init__(self) -> None:
        self.entries: dict[str, TestEntry] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        for line in MARKERS:
            config.addinivalue_line("markers", line)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for position, item in enumerate(items, start=1):
            visibility = _marker_arg(item, "visibility", "visible")
            if visibility not in VISIBILITIES:
                raise pytest.UsageError(f"{item.nodeid}: unknown visibility {visibility!r}")
            tags_marker = item.get_closest_marker("tags")
            doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
            name = doc.strip().splitlines()[0] if doc.strip() else item.name
            callspec = getattr(item, "callspec", None)
            if doc.strip() and callspec is not None:  # parametrized: one name per case
                name = f"{name} [{callspec.id}]"
            self.entries[item.nodeid] = TestEntry(
                nodeid=item.nodeid,
                name=name,
                number=str(_marker_arg(item, "number", position)),
                max_score=float(_marker_arg(item, "points", 1)),
                visibility=visibility,
                tags=tuple(str(t) for t in tags_marker.args) if tags_marker else (),
            )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        if call.excinfo is not None:  # before pytest formats it for its log
            _shorten(call.excinfo.value)
        outcome = yield
        report = outcome.get_result()
        # What the test printed (pytest's log shows it for a failed test): cut as messages are.
        report.sections = [(title, _cut(text)) for title, text in report.sections]
        entry = self.entries.get(item.nodeid)
        if entry is None:
            return
        if report.when == "call" and report.passed:
            self.entries[item.nodeid] = replace(
                entry, score=entry.max_score, status="passed", output="passed"
            )
        elif report.failed and call.excinfo is not None:
            # A failure in setup or teardown also fails the test (and takes its points).
            output, extra = feedback.render(call.excinfo.value, _message(call.excinfo))
            self.entries[item.nodeid] = replace(
                entry,
                score=0.0,
                status="failed",
                output=output,
                extra_data=tuple(sorted(extra.items())),
                grader_error=isinstance(call.excinfo.value, GraderError),
            )
        elif report.skipped:
            self.entries[item.nodeid] = replace(entry, score=0.0, status="failed", output="skipped")
        if report.when == "teardown":
            entry = self.entries[item.nodeid]
            self.entries[item.nodeid] = replace(entry, uses=item.stash.get(USES, ()))

    def results(self) -> list[TestEntry]:
        return list(self.entries.values())


class SubmissionFixture:
    """Provides the `sub` fixture: the student's code behind the trust boundary.

    A test that passed although a request to the student's code got no answer during it (it
    timed out, was not made by the time-out breaker, or was not run) fails at teardown: it may
    have caught the failure (a test that expects the student's function to raise, say), and a
    call that was not made must never earn points."""

    def __init__(self, submission: Any) -> None:
        self.submission = submission

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        if call.when == "call":
            item.stash[_CALL_PASSED] = outcome.get_result().passed

    @pytest.fixture
    def sub(self, request: pytest.FixtureRequest) -> Iterator[Any]:
        session = getattr(self.submission, "session", None)
        unanswered = getattr(session, "unanswered", None)
        before = len(unanswered) if unanswered is not None else 0
        breaker = getattr(session, "breaker", None)
        if breaker is not None:  # feedback names the test where a function hung
            breaker.test = _visible_name(request.node)
        used = getattr(self.submission, "used", None)
        if used is not None:
            used.clear()
        yield self.submission
        if used is not None:
            request.node.stash[USES] = tuple(used)
        # The objects the test made are dropped when it ends (a failure here, such as a
        # __del__ that hangs, fails this test).
        release = getattr(self.submission, "release", None)
        if release is not None:
            release()
        if unanswered is not None and len(unanswered) > before:
            if request.node.stash.get(_CALL_PASSED, False):
                raise StudentError(
                    "this test cannot pass: a request to your code during it got no answer ("
                    + unanswered[before]
                    + ")"
                )


_CALL_PASSED = pytest.StashKey[bool]()
USES = pytest.StashKey[tuple[str, ...]]()


def _visible_name(item: pytest.Item) -> str:
    """How feedback may name a test in another test's message: by its name when students see
    it (visibility "visible"), otherwise as "an earlier test" (empty), never leaking a hidden
    test's name."""
    if _marker_arg(item, "visibility", "visible") != "visible":
        return ""
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    name = doc.strip().splitlines()[0] if doc.strip() else item.name
    callspec = getattr(item, "callspec", None)
    return f"{name} [{callspec.id}]" if doc.strip() and callspec is not None else name


class BeforeTests:
    """Calls `ready` between collecting the tests and running the first (grading.run_tests);
    what it raises is kept for run_tests to raise, and no test runs. Also tells run_tests
    whether pytest stopped for a Ctrl-C (`interrupted`) or on its own: pytest reports errors
    during collection (a hidden test file that does not import) as "interrupted" too."""

    def __init__(self, ready: Callable[[], None] | None) -> None:
        self.ready = ready
        self.error: BaseException | None = None
        self.reached = False  # pytest got to running the tests (ready was called, if any)
        self.interrupted = False  # a KeyboardInterrupt stopped pytest, not its own "Interrupted"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if session.testsfailed:  # errors during collection: pytest stops, no test runs
            return None
        self.reached = True
        if self.ready is None:
            return None
        try:
            self.ready()
        except BaseException as exc:  # noqa: BLE001 - raised by run_tests, after pytest ends
            self.error = exc
            return True  # the loop is done: no test runs
        return None  # pytest's own loop runs the tests

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        exc = excinfo.value
        self.interrupted = isinstance(exc, KeyboardInterrupt) and not isinstance(
            exc, pytest.Session.Interrupted
        )
