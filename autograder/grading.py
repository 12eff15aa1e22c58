"""One grading run, end to end: find the notebook, run it confined, run the tests, write results.

    grade(get_homework("hw1"), Path("submission/"), Path("results/results.json"))

The results file is always written, by this (trusted) process, after every process of the
submission has been killed: a grader failure becomes an "autograder failed" entry, an unreadable
upload a zero with a message on every test.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlhw.autograder import remote
from dlhw.autograder.blame import missing_module_hint
from dlhw.autograder.breaker import references
from dlhw.autograder.classspec import ClassSpec, class_specs
from dlhw.autograder.confinement import Limits
from dlhw.autograder.feedback import (
    code_span,
    defined_again,
    defined_names,
    defines,
    misnamed,
    missing_name,
)
from dlhw.autograder.homeworks import Homework, course_root
from dlhw.autograder.notebook import NotebookError, ReadNotebook, graded_cells, upload_files
from dlhw.autograder.oracles import Mode, OracleRun, oracle_run
from dlhw.autograder.results import (
    check_results_path,
    failure_results,
    finalize,
    write_results,
)
from dlhw.autograder.session import CellReport, Session
from dlhw.autograder.submission import Submission
from dlhw.autograder.view import close_course_root, close_denied_packages

if TYPE_CHECKING:
    from dlhw.autograder.reporter import TestEntry

UNREADABLE = "Your submission could not be graded: "  # how the results' output then begins


@dataclass(frozen=True)
class GradeOutcome:
    results: dict[str, Any]
    path: Path | None
    staff_log: str
    printed: str = ""  # what the submission printed (capped), for the run's own stdout

    @property
    def score(self) -> float:
        return float(self.results.get("score", 0))

    @property
    def max_score(self) -> float:
        return float(sum(t.get("max_score", 0) for t in self.results.get("tests", [])))

    @property
    def unreadable(self) -> str:
        """Why the upload could not be read ("" when it was): every test then scored 0."""
        output = str(self.results.get("output", ""))
        return (
            output.splitlines()[0].removeprefix(UNREADABLE) if output.startswith(UNREADABLE) else ""
        )


# What a grading run imports when it first needs it, not with this module, so that a single
# `grade` loads them while its worker boots or runs the cells (see grade). A batch job, which
# grades many submissions in one process, imports them once, up front (batch._warm_up).
LOADED_WHEN_NEEDED = ("pytest", "dlhw.autograder.reporter", "nbformat", "jsonschema")


def load_all() -> None:
    """Import now what grading would import when first needed (LOADED_WHEN_NEEDED)."""
    for module in LOADED_WHEN_NEEDED:
        importlib.import_module(module)


def locate_notebook(submission: Path, hw: Homework) -> Path:
    """The notebook to grade: the path itself, or the one notebook in a submission folder.

    A symbolic link is never followed out of the upload: the grader reads as root, and a link to
    the reference notebook (or any file) would be graded, or shown, as the student's own work."""
    if submission.is_symlink() and submission.resolve().is_file():
        raise NotebookError(_symlink_problem(submission.name))
    if not submission.exists():
        raise NotebookError(f"nothing was submitted ({submission} does not exist)")
    if submission.is_file():
        return submission
    root = submission.resolve()
    files = upload_files(submission)
    candidates = [
        p for p in files if p.name.endswith(".ipynb") and ".ipynb_checkpoints" not in p.parts
    ]
    for p in candidates:
        if p.is_symlink() and not p.resolve().is_relative_to(root):
            raise NotebookError(_symlink_problem(str(p.relative_to(submission))))
    # A link inside the upload to another of its files adds nothing: its target is listed too.
    notebooks = [p for p in candidates if p.is_file() and not p.is_symlink()]
    if not notebooks:
        others = sorted(p.name for p in files if p.is_file())[:10]
        found = f" (found: {', '.join(others)})" if others else " (the upload is empty)"
        raise NotebookError(f"no .ipynb notebook was submitted{found}; upload {hw.notebook_name}")
    if len(notebooks) == 1:
        return notebooks[0]
    named = [p for p in notebooks if p.name == hw.notebook_name]
    if len(named) == 1:
        return named[0]
    names = ", ".join(str(p.relative_to(submission)) for p in notebooks)
    raise NotebookError(
        f"several notebooks were submitted ({names}) and none is uniquely named "
        f"{hw.notebook_name}; upload only the notebook to grade"
    )


def _symlink_problem(name: str) -> str:
    return (
        f"{name} is a symbolic link to a file outside your upload, not a notebook: "
        "upload the .ipynb file itself"
    )


def protect_private_files() -> None:
    """As root, close to other users what student code must not read: everything of the course
    root but the packages the worker imports and the virtual environment (view.py), including the
    solutions (hidden tests, reference notebooks) and the repository's history, which holds them
    too, and the denied packages (torch) of the grader's environment. Where the worker runs in
    namespaces it does not even see them; this is the fallback."""
    close_course_root()
    close_denied_packages()


@contextlib.contextmanager
def _no_plugin_autoload() -> Iterator[None]:
    """Only the grader's own plugins take part: pytest plugins installed in the environment (found
    through entry points) are not loaded, which also saves their import time."""
    name = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
    before = os.environ.get(name)
    os.environ[name] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def close_upload(submission: Path) -> list[str]:
    """As root, close the upload to every other user before any student code runs: it has been
    read already, and no other submission's code may read it, during this run or later. A folder
    upload is closed by its own mode (nothing inside can be reached without entering it). Never
    through a link (O_NOFOLLOW). Returns notes for staff."""
    if os.geteuid() != 0 or submission.resolve().is_relative_to(course_root()):
        return []  # the course's own notebooks (demo, tests) are not uploads
    try:
        fd = os.open(submission, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        return [f"upload not closed to other users: {exc}"]
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & 0o700)
            return [
                f"upload was open to other users (mode {mode:o}); closed it (mode {mode & 0o700:o})"
            ]
    finally:
        os.close(fd)
    return []


# Names a notebook has no reason to use: the grader's own modules and objects. A cell that does
# may be probing or patching the worker (tests cannot rule out a patched worker's answers about
# itself, see docs/objects.md): staff are told, the student is not.
GRADER_NAMES = ("dlhw.autograder", "ObjectTable", "object_table", "_Kept", "Channel", "sys.modules")


def mentions_of_the_grader(read: ReadNotebook) -> list[str]:
    cells = sorted({c.index for c in read.cells if any(n in c.source for n in GRADER_NAMES)})
    if not cells:
        return []
    return [f"NOTE: cells {cells} refer to the grader's own modules (check them by hand)"]


def run_tests(
    test_files: list[Path],
    submission: Submission,
    tracebacks: bool = True,
    ready: Callable[[], None] | None = None,
) -> tuple[list[TestEntry], str]:
    """Run the tests in this (trusted) process; returns the entries and pytest's own log.

    `ready` is called once the tests are collected, before the first runs, and what it raises
    is raised here with no test run: `grade` waits there for the notebook's cells, which run in
    the worker while pytest starts and imports the test files.

    Without `tracebacks` the log has one line per failed test instead of a short traceback:
    pytest reads and parses the test file again for every entry of every traceback it formats
    (about 8 ms per failed test), and feedback never uses them (reporter.py)."""
    # pytest is imported here, not with this module: `grade` gets here while the notebook's cells
    # run in the worker, so its import (~60 ms) overlaps them.
    import pytest

    from dlhw.autograder.reporter import BeforeTests, GradescopeReporter, SubmissionFixture

    reporter = GradescopeReporter()
    waiter = BeforeTests(ready)
    log = io.StringIO()
    args = [
        *map(str, test_files),
        "-c", os.devnull,  # the course's own pytest settings do not apply to grading runs
        "--rootdir", str(course_root()),
        # pytest considers nothing above the test files' own folder: with `-c /dev/null` its cut
        # was /dev, and it collected every folder above them but / as a package where it held an
        # __init__.py, and imported one conftest.py from each (a course under /tmp: a student's
        # first cell wrote /tmp/__init__.py or /tmp/conftest.py while pytest started, and it ran
        # as root in this process; docs/attacks/plant_conftest.py). No homework has a conftest.
        "--confcutdir", os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in test_files]),
        "--noconftest",
        "-p", "no:cacheprovider",
        # Plugins a grading run does not need; unraisableexception alone costs a full gc.collect()
        # per test once torch is loaded.
        "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:logging",
        "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:legacypath",
        "--import-mode=importlib",
        # No assertion rewriting: it costs start-up time, and a failed bare `assert` would put
        # the hidden test's own expression in the feedback; tests say what failed in messages.
        "--assert=plain",
        "-q", "--tb=short" if tracebacks else "--tb=line", "--no-header",
    ]  # fmt: skip
    # Run from inside another pytest (the project's own tests), that pytest's import hook would
    # still rewrite the hidden tests' asserts: step it aside, so grading behaves the same anywhere.
    rewriters = [h for h in sys.meta_path if type(h).__name__ == "AssertionRewritingHook"]
    _forget_test_modules(test_files)
    try:
        for hook in rewriters:
            sys.meta_path.remove(hook)
        with contextlib.redirect_stdout(log), _no_plugin_autoload():
            code = pytest.main(args, plugins=[reporter, SubmissionFixture(submission), waiter])
    finally:
        sys.meta_path[:0] = rewriters
    if waiter.error is not None:
        raise waiter.error
    if waiter.interrupted:  # Ctrl-C, which pytest caught: the run stops
        raise KeyboardInterrupt
    # Anything else is a grader failure, with pytest's log for staff: errors during collection
    # (which pytest also calls "interrupted"), a test file that ended pytest while imported.
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"pytest exited with {code!r}:\n{log.getvalue()}")
    if not waiter.reached:  # no test ran (and the notebook's cells were not waited for)
        raise RuntimeError(f"pytest ended before running the tests:\n{log.getvalue()}")
    return reporter.results(), log.getvalue()


def _forget_test_modules(test_files: list[Path]) -> None:
    """Drop the modules imported from the test files' folders (the test files, a conftest or a
    helper beside them; not subfolders, not the grader's own), so that pytest imports them
    afresh. pytest reuses a module already imported, and a batch job grades many submissions in
    one process: whatever a test left in its module's globals (a cache, a setting it changed)
    would reach the next student's run. Each run starts from the files, as a run of its own
    does (~1-3 ms a run)."""
    # pytest names a test module's file as os.path.abspath spells it (`..` folded, links kept);
    # Path.absolute() keeps `..` and realpath follows links: a path with both matched neither.
    folders = set()
    for path in test_files:
        parent = path.parent
        folders.update({str(parent.absolute()), os.path.abspath(parent), os.path.realpath(parent)})
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (
            isinstance(file, str)
            and os.path.dirname(file) in folders
            # Never the grader's, nor the script that runs it (a course's driver script beside
            # a test file, in the course root say: pickle and multiprocessing look it up).
            and not name.startswith("dlhw.")
            and name not in ("__main__", "__mp_main__")
        ):
            del sys.modules[name]


class CellRunner:
    """Starts the worker and runs the notebook's cells, in a thread: the worker boots (an
    interpreter, numpy) while this process reads the notebook, and the cells run while it starts
    pytest and collects the tests. The cells are handed over by `run` (or at once); `join`
    re-raises whatever stopped the thread early, so a failure there becomes an "autograder
    failed" result instead of cells that silently never ran while the feedback says they did."""

    def __init__(self, session: Session, cells: list[tuple[int, str]] | None = None) -> None:
        self.error: BaseException | None = None
        self._cells: list[tuple[int, str]] = []
        self._setup = ""
        self._handed = threading.Event()
        if cells is not None:
            self.run(cells)
        self._thread = threading.Thread(
            target=self._run, args=(session,), name="dlhw-cells", daemon=True
        )
        self._thread.start()

    def run(self, cells: list[tuple[int, str]], setup: str = "") -> None:
        """Hand over the cells to run (none: the thread ends once the worker has started), and
        the grader's `setup` code to run after them (the homework's overrides)."""
        self._cells = cells
        self._setup = setup
        self._handed.set()

    def release(self) -> None:
        """Let the thread end if no cells were handed over (grade failed before it could): it
        would otherwise wait for them for good, holding the session (a batch job grades on)."""
        if not self._handed.is_set():
            self.run([])

    def _run(self, session: Session) -> None:
        try:
            session.live_generation()  # start the worker now, before the cells are known
            self._handed.wait()
            if self._cells:
                session.run_cells(self._cells)
                if self._setup:
                    session.run_setup(self._setup)
        except BaseException as exc:  # noqa: BLE001 - handed to the grading thread
            self.error = exc

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


# What a student whose graded cell ran past the cell limit needs to know (it is left out whole).
SLOW_CELL_HINT = (
    "Nothing this cell defines exists for the tests. Keep slow code (training, experiments) in"
    " cells tagged skip-grading, apart from the functions and classes the tests use."
)
MAX_LISTED_CELLS = 20  # cells with problems listed one by one in the feedback; the rest counted


def _cell_line(source: str, report: CellReport) -> str:
    first = _first_line(source)
    what = {
        "error": "raised an exception",
        "timeout": "did not finish in time and was stopped",
        "crash": "crashed the notebook's process",
        "protocol": "broke the grader's protocol",
        "budget": "was not run: the time budget ran out",
        "restarts": "was not run: the notebook's process was restarted too often",
    }[report.status]
    lines = report.message.splitlines()[-12:]
    if lines and lines[-1].startswith("ModuleNotFoundError"):
        lines.append(missing_module_hint(lines[-1]))
    if report.status == "timeout":
        lines.append(SLOW_CELL_HINT)
    body = "\n".join("      " + ln for ln in lines)
    return f"  - cell {report.index + 1} (`{first}`) {what}:\n{body}"


# Names that tests found missing compared with the notebook's (each ~0.4 s at worst: 5,000 names
# of feedback.MAX_NAME_CHARS). A student's own NameError can name a different one in every test.
MAX_MISSING_LOOKED_UP = 3


def _point_to_failed_cells(
    entries: list[dict[str, Any]], read: ReadNotebook, session: Session
) -> None:
    """A test that failed on a name that does not exist ("np is not defined") says which cell
    stopped early, where the name was most likely to be defined (an import cell that failed on
    a library the grader lacks leaves every later name of that cell undefined), and which name
    of the notebook it may be misspelt as."""
    missing = [e for e in entries if e["status"] == "failed" and "is not defined" in e["output"]]
    notes: dict[str, str] = {}  # each missing name looked up once, and only a few of them
    if missing:  # a misspelt or renamed function: say which of the notebook's names it may be
        defined = defined_names(c.source for c in read.cells)
        for entry in missing:
            name = missing_name(entry["output"])
            if name not in notes and len(notes) < MAX_MISSING_LOOKED_UP:
                notes[name] = misnamed(entry["output"], defined)
            entry["output"] += notes.get(name, "")
    stopped = [r for r in _problem_cells(session) if r.status not in ("budget", "restarts")]
    if not stopped:
        return
    sources = {c.index: c.source for c in read.cells}

    def listed(reports: list[CellReport]) -> tuple[str, bool]:
        cells = ", ".join(
            f"{r.index + 1} ({code_span(_first_line(sources.get(r.index, '')))})"
            for r in reports[:3]
        )
        more = f" and {len(reports) - 3} more" if len(reports) > 3 else ""
        several = len(reports) > 1
        return f"Cell{'s' if several else ''} {cells}{more}", several

    # A cell that raised keeps what ran before the line that failed; one that hung, crashed or
    # broke the protocol is left out whole (the worker starts again with the cells before it),
    # so a class defined above a slow training loop in that cell does not exist either.
    raised = [r for r in stopped if r.status == "error"]
    left_out = [r for r in stopped if r.status != "error"]
    parts = []
    if raised:
        cells, several = listed(raised)
        parts.append(
            f"{cells} did not run to the end, so what {'they define' if several else 'it defines'}"
            " after the line that failed does not exist"
        )
    if left_out:
        cells, several = listed(left_out)
        they = "they" if several else "it"
        parts.append(
            f"{cells} {'were' if several else 'was'} stopped and left out, so nothing "
            f"{'they define' if several else 'it defines'} exists, not even what comes before "
            f"the line where {they} stopped"
        )
    note = "\n\n" + "; ".join(parts) + ": see the top of this feedback."
    for entry in entries:
        if entry["status"] == "failed" and "is not defined" in entry.get("output", ""):
            # A name the notebook defines nowhere, but one much like it: the rename is the
            # cause, whatever cell stopped (a renamed topo_sort is in no cell that failed).
            if not notes.get(missing_name(entry["output"])):
                entry["output"] += note


def _skipped_magic(report: CellReport) -> bool:
    """A cell magic that is not Python (%%bash): skipped, as in the worker; not a problem."""
    return report.status == "skipped"


def _problem_cells(session: Session) -> list[CellReport]:
    """The cells that failed, timed out, crashed or were not run, in order."""
    return [r for r in session.reports if r.status != "ok" and not _skipped_magic(r)]


def _first_line(source: str) -> str:
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return first if len(first) <= 60 else first[:57] + "..."


def _summary(
    read: ReadNotebook | None, session: Session | None, problem: str, with_printed: bool = True
) -> str:
    if read is None or session is None:
        return UNREADABLE + problem
    lines = [
        f"Graded {read.path.name}: {len(read.cells)} code cells ran"
        + (f", {len(read.skipped)} skipped (tagged skip-grading)." if read.skipped else ".")
    ]
    bad = _problem_cells(session)
    skipped_magic = [r for r in session.reports if _skipped_magic(r)]
    # Cells are listed up to a cap, and looked up by index: a notebook of 100,000 failing cells
    # must neither make this quadratic nor bury the rest of the feedback.
    sources = {c.index: c.source for c in read.cells}
    if bad:
        lines.append("Problems while running your notebook (the other cells still ran):")
        lines += [_cell_line(sources.get(r.index, ""), r) for r in bad[:MAX_LISTED_CELLS]]
        if len(bad) > MAX_LISTED_CELLS:
            lines.append(f"  ... and {len(bad) - MAX_LISTED_CELLS:,} more cells with problems")
    warned = [r for r in session.reports if r.warnings]
    if warned:  # Jupyter shows them under the cell; here they would be in hidden output only
        lines.append("Python warned about your code (a warning often points to a bug):")
        lines += [
            f"  - cell {r.index + 1} (`{_first_line(sources.get(r.index, ''))}`), {said}"
            for r in warned[:MAX_LISTED_CELLS]
            for said in r.warnings
        ]
        if len(warned) > MAX_LISTED_CELLS:
            lines.append(f"  ... and {len(warned) - MAX_LISTED_CELLS:,} more cells with warnings")
    if skipped_magic:
        cells = ", ".join(str(r.index + 1) for r in skipped_magic[:MAX_LISTED_CELLS])
        more = ", ..." if len(skipped_magic) > MAX_LISTED_CELLS else ""
        lines.append(f"Skipped cells {cells}{more}: their cell magics are not Python.")
    printed = session.output().strip()
    if printed and with_printed:
        lines.append("\nWhat your notebook printed while being graded:\n" + printed)
    elif printed:
        lines.append("What your notebook printed while being graded is in the autograder output.")
    return "\n".join(lines)


def _another_homework(read: ReadNotebook, hw: Homework, reached: bool = True) -> str:
    """A line for the summary when the notebook defines few of this homework's functions and
    classes but most of another's (hw2's notebook uploaded to hw1's assignment); where no other
    homework is known (a Gradescope zip holds one) or none fits, when it defines none of this
    homework's and no test `reached` its code (`_reached_the_code`); "" otherwise."""
    from dlhw.autograder.homeworks import homeworks

    try:
        others = [other for other in homeworks() if other.id != hw.id]
    except Exception:  # noqa: BLE001 - another homework's broken manifest is not this run's
        others = []
    if not others and reached:  # nothing to compare and nothing to say: nothing to read
        return ""
    # Only the names compared are kept, from every cell: the first 5,000 names of any kind
    # (defined_names' cap) left a hw2 notebook with hw1's functions and 5,000 settings first
    # "defining 0 of hw2's", and asked whether it went to the wrong assignment.
    defined = defines((c.source for c in read.cells), {n for h in (hw, *others) for n in h.names})

    def count(names: tuple[str, ...]) -> int:
        return sum(name in defined for name in names)

    def share(names: tuple[str, ...]) -> float:
        return count(names) / len(names) if names else 0.0

    if share(hw.names) >= 0.5:
        return ""
    best, other = max(
        ((share(o.names), o) for o in others), key=lambda pair: pair[0], default=(0.0, None)
    )
    if other is not None and best >= 0.75:
        return (
            f"This notebook defines {count(other.names)} of the {len(other.names)} functions and "
            f"classes {other.id} ({other.title}) asks for, and {count(hw.names)} of the "
            f"{len(hw.names)} {hw.id} asks for: was it "
            "uploaded to the wrong assignment?"
        )
    if reached or count(hw.names) or not hw.names:
        return ""
    return (
        f"This notebook defines none of the functions and classes {hw.id} ({hw.title}) asks for "
        f"({', '.join(hw.names)}): is it this assignment's notebook?"
    )


def _reached_the_code(entries: list[TestEntry]) -> bool:
    """Whether a test got to the notebook's functions: it passed, or it failed on what they did
    (a value, an exception they raised, a time-out), not on a name the notebook lacks or a call
    that was not made. Definitions are found in the source by pattern, which misses those inside
    an `if` or made by `exec` or `name: type = lambda ...`: such a notebook, all of whose tests
    failed, was asked whether it was this assignment's."""
    return any(
        e.status == "passed"
        or (
            e.uses
            and not e.grader_error
            and e.output != "skipped"
            and "is not defined in your notebook" not in e.output
            and " was not run: " not in e.output
        )
        for e in entries
    )


def _with_line(summary: str, line: str) -> str:
    """The summary with `line` after its first line (unchanged for an empty one)."""
    if not line:
        return summary
    first, _, rest = summary.partition("\n")
    return "\n".join([first, line] + ([rest] if rest else []))


def _with_failed_by_name(summary: str, entries: list[TestEntry], names: Sequence[str]) -> str:
    """The summary with, after its first line, where the failed tests point: for each function or
    class the homework declares (in the notebook's order), how many of the tests that use it
    failed and the points they carry (a failed test counts for the names it uses whose own tests
    do not all pass, when there are such names). Only tests students see now count (visibility
    "visible"): the summary must not tell of hidden ones. Unchanged when no such test failed."""
    shown = [e for e in entries if e.visibility == "visible" and not e.grader_error]
    # A name whose own tests (those that use no other name) all pass is cleared: a failed test
    # that uses it with others points to the others (Sequential's tests, failing, use a Linear
    # whose own tests pass: "Linear: 8 of 21 tests failed" sent the student to the wrong class
    # first). A test whose names are all cleared still counts for each of them.
    own: dict[str, list[TestEntry]] = {}
    for e in shown:
        if len(e.uses) == 1:
            own.setdefault(e.uses[0], []).append(e)
    cleared = {n for n, tests in own.items() if all(e.status == "passed" for e in tests)}

    def points_to(e: TestEntry, name: str) -> bool:
        return name not in cleared or all(n in cleared for n in e.uses)

    rows = []
    for name in names:
        using = [e for e in shown if name in e.uses]
        failed = [e for e in using if e.status != "passed" and points_to(e, name)]
        if failed:
            lost = sum(e.max_score - e.score for e in failed)
            points = f"{lost:g} point" + ("" if lost == 1 else "s")
            rows.append(f"  {name}: {len(failed)} of {len(using)} tests failed ({points})")
    if not rows:
        return summary
    header = "Failed tests, by what they use (in the notebook's order):"
    return _with_line(summary, "\n".join([header, *rows]))


# A process that grades again (a batch job, `mutate`, the project's own tests) would otherwise
# keep what a run left in reference cycles before its tests started: frozen, the next run's
# collections never see it. A full collection every few runs bounds that (~1.3 MB and ~3,500
# objects a run for hw1, measured), at a fraction of its cost per run.
COLLECT_EVERY_RUNS = 8
_runs = 0


def _collector_resumes(enabled: bool) -> None:
    """The end of a run: what `grade` froze goes back to the collector, which runs as before."""
    global _runs
    remote.WORLD_FROZEN = False
    gc.unfreeze()
    if enabled:
        gc.enable()
    _runs += 1
    if _runs % COLLECT_EVERY_RUNS == 0:
        gc.collect()


def grade(
    hw: Homework,
    submission: Path,
    output: Path | None = None,
    limits: Limits | None = None,
    tests: list[Path] | None = None,
    stdout_visibility: str | None = None,
    classes: Mapping[str, ClassSpec] | None = None,
    oracles: OracleRun | None = None,
    staff_tracebacks: bool = True,
) -> GradeOutcome:
    """Grade one submission (a notebook or a folder holding one); always returns results.

    `tests` defaults to the homework's public and hidden tests. With `stdout_visibility` (as on
    Gradescope), what the submission printed leaves the results' `output` for the run's stdout
    (`GradeOutcome.printed`), which Gradescope shows with that visibility. `classes` are the
    student classes the tests may use; by default the manifest's [classes.NAME] tables
    (`classspec.class_specs(hw.classes)`). `oracles` says what
    the tests' oracles do (default: recorded values, no torch; see oracles.py) and collects what
    they did. Without `staff_tracebacks` the staff log has one line per failed test, not a
    traceback (a batch, which keeps no staff log, saves ~0.1 s per submission with failures)."""
    if output is not None:
        check_results_path(output)  # UnsafeResultsPath: refused before anything runs
    start = time.monotonic()
    oracles = OracleRun(Mode.RECORDED) if oracles is None else oracles
    results: dict[str, Any] | None = None
    session: Session | None = None
    read: ReadNotebook | None = None
    problem = ""
    staff: list[str] = []
    ready: Callable[[], None] | None = None  # waits for the notebook's cells (run_tests)
    runner: CellRunner | None = None
    collector = gc.isenabled()
    # The cyclic garbage collector waits until the tests start: what the run builds before them
    # (pytest, the notebook, the test modules, oracles) lives to its end, and walking it again
    # and again cost 20-40 ms a run. Then it is frozen (left out of every later collection, the
    # explicit ones for large replies included) and the collector runs for what the tests make.
    gc.disable()

    def tests_start() -> None:
        if ready is not None:
            ready()
        gc.freeze()
        remote.WORLD_FROZEN = True
        if collector:
            gc.enable()

    try:
        if classes is None:  # the manifest's [classes.NAME] tables (a malformed one: our failure)
            classes = class_specs(hw.classes)
        protect_private_files()
        # The worker boots (an interpreter, numpy) while this process reads the notebook; no
        # student code runs before the cells are handed over, after the upload is closed.
        session = Session(limits)
        runner = CellRunner(session)
        try:
            read = graded_cells(locate_notebook(submission, hw))
        except NotebookError as exc:
            problem = str(exc)
        staff.extend(close_upload(submission))
        if read is None:  # nothing to run: the worker goes now (what its start raised with it)
            runner.release()
            session.close()  # closed again at the end; staff still see its notes
            unavailable = f"your submission could not be read: {problem}"
            sub = Submission(None, unavailable, classes=classes, functions=hw.functions)
        else:
            staff.extend(mentions_of_the_grader(read))
            # What each function of the notebook calls, for the time-out breaker (breaker.py).
            session.breaker.reach = references(c.source for c in read.cells)
            # The notebook runs in the worker while this process imports what live oracles need
            # (recorded ones need nothing), starts pytest and collects the tests; run_tests waits
            # for the cells before the first test (`join` re-raises what stopped them: a grader
            # failure, never silent).
            # The homework's overrides run after the cells: BACKEND = "numpy" whatever the
            # student left there, as the notebook promises (homeworks.py, [overrides]).
            runner.run([(c.index, c.source) for c in read.cells], hw.setup_code)
            ready = runner.join
            if oracles.mode is not Mode.RECORDED:
                for module in hw.preload:
                    importlib.import_module(module)
            sub = Submission(session, classes=classes, functions=hw.functions)
        if tests is None:
            tests = [hw.public_tests, *hw.hidden_tests]
        with oracle_run(oracles):
            entries, log = run_tests(tests, sub, staff_tracebacks, tests_start)
        staff.append(log)
        staff.append(oracles.staff_note())
        if oracles.unavailable:  # some tests had no expectation: their scores would be wrong
            raise RuntimeError(
                "expected values of the tests are missing (no record, and no torch to compute "
                "them); re-record the oracles (`autograder record-oracles`) and grade again"
            )
        entries_json = [e.to_json() for e in entries]
        if read is not None and session is not None:
            _point_to_failed_cells(entries_json, read, session)
        summary = _summary(read, session, problem, with_printed=stdout_visibility is None)
        if read is not None:
            cells = ((c.index, c.source) for c in read.cells)
            summary = _with_line(summary, defined_again(cells, hw.names))
            summary = _with_failed_by_name(summary, entries, hw.names)
            reached = _reached_the_code(entries)
            summary = _with_line(summary, _another_homework(read, hw, reached))
        broken = [e for e in entries if e.grader_error]
        if broken:  # the test author's mistakes: said plainly, and logged for staff
            staff.append(f"GRADER ERRORS in tests: {[e.name for e in broken]}")
            # Named only where students see the test: the summary is always visible, and a
            # hidden (or after_due_date) test's name says what it checks.
            shown = [e.name for e in broken if e.visibility == "visible"]
            unseen = len(broken) - len(shown)
            named = ": " + ", ".join(shown) if shown else ""
            if unseen:
                named += f"{' and ' if shown else ' ('}{unseen} not shown to you yet"
                named += "" if shown else ")"
            summary = (
                f"The autograder could not run {len(broken)} test(s) because of a mistake in "
                f"the tests, not in your work{named}. Course staff have been "
                "told and will regrade.\n" + summary
            )
        results = {
            "score": round(sum(t["score"] for t in entries_json), 6),
            "output": summary,
            "tests": entries_json,
        }
        if stdout_visibility is not None:
            results["stdout_visibility"] = stdout_visibility
    except Exception:  # noqa: BLE001 - any grader failure must still produce a results file
        details = traceback.format_exc()
        staff.append(details)
        results = failure_results(details.strip().splitlines()[-1], details)
    finally:
        # The collector resumes last: a Ctrl-C during its periodic full collection must not
        # skip closing the session or writing the results.
        try:
            if runner is not None:
                runner.release()
            if session is not None:
                try:
                    session.close()
                except Exception:  # noqa: BLE001 - still write results; staff see why
                    staff.append("closing the session failed:\n" + traceback.format_exc())
                staff.append(
                    f"worker restarts: {session.restarts}, leftover processes killed: "
                    f"{session.leftovers_killed}, scratch files removed: {session.files_removed}, "
                    f"notes: {session.notes}"
                )
            if results is None:  # a BaseException (KeyboardInterrupt) is on its way out
                results = failure_results("the grading run was interrupted", "interrupted")
            results["execution_time"] = round(time.monotonic() - start, 3)
            results = write_results(results, output) if output is not None else finalize(results)
        finally:
            _collector_resumes(collector)
    printed = session.output() if session is not None else ""
    return GradeOutcome(results, output, "\n".join(staff), printed)
