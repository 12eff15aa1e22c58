"""Every case of the corpus (tests/corpus/) graded, each with its expected outcome.

For every case the grader must: finish within a time bound; write a schema-valid results.json that
is its own, whatever the student wrote; give exactly the points the real work earned (or at most
them, where noted); tell the student what happened; leave no process of the sandbox uid and no
child of ours behind; leave no file or System V IPC object of the sandbox uid anywhere it could
write; and leave the grader's files, a decoy folder and a listening port untouched.

Expected failures are named from the reference's own test list (`of`, `named`, `ALL`), so the
points follow from the tests' markers: nothing here hard-codes the homework's maximum.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

import dlhw.autograder
import dlhw.autograder.grading as grading
from conftest import REPO
from dlhw.autograder.cli import format_table
from dlhw.autograder.confinement import (
    SANDBOX_UID_BASE,
    SANDBOX_UID_SPAN,
    SCRATCH_ROOTS,
    Limits,
    remove_tree,
)
from dlhw.autograder.grading import GradeOutcome, grade
from dlhw.autograder.results import validate
from dlhw.autograder.session import Session
from dlhw.autograder.view import namespaces_unavailable
from dlhw.autograder.wire.text import clean

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import cases_escape  # noqa: E402

import build_corpus  # noqa: E402
from corpus_kit import HW, MARK, Context, write_upload  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]

ISOLATED = os.geteuid() == 0 and os.environ.get("DLHW_SANDBOX") != "same-user"

# Tighter than FAST_LIMITS so that runaway cases stay quick; correct calls take milliseconds.
LIMITS = Limits(call_timeout_s=2.0, cell_timeout_s=3.0, run_timeout_s=60.0)


# ---- which tests must fail -----------------------------------------------------------------

Select = Callable[[list[str]], set[str]]


def of(*functions: str) -> Select:
    """The tests of these functions (their names say which function they test)."""
    return lambda names: {n for n in names if any(f in n for f in functions)}


def named(*parts: str) -> Select:
    """The tests whose names contain these parts, each part naming exactly one test."""

    def select(names: list[str]) -> set[str]:
        picked = set()
        for part in parts:
            hits = [n for n in names if part in n]
            assert len(hits) == 1, f"{part!r} names {len(hits)} tests: {hits}"
            picked |= set(hits)
        return picked

    return select


def either(*selects: Select) -> Select:
    return lambda names: set().union(*(s(names) for s in selects))


def minus(select: Select, without: Select) -> Select:
    return lambda names: select(names) - without(names)


NONE: Select = lambda names: set()  # noqa: E731
ALL: Select = set


@dataclass(frozen=True)
class Expect:
    message: str  # what the student is told, in the top-level output or a test's output
    failed: Select = NONE  # exactly these tests fail; the score is the points of the others
    upper_bound: bool = False  # these must fail, others may too: the score is at most the rest
    seconds: float = 20.0  # bound on the wall time of the grading run
    limits: Limits = LIMITS
    results_in_tmp: bool = False  # results.json directly in /tmp, as with `-o /tmp/r.json`
    hostile: bool = True  # attacks the machine: run only with the uid sandbox (root)
    fallback_message: str | None = None  # what the student is told without the kernel layers


def limits(**changes: float) -> Limits:
    return replace(LIMITS, **changes)


LOSS, GRAD, EPOCH, PARSE = (
    of("softmax_loss"),
    of("softmax_regression_grad"),
    of("softmax_regression_epoch"),
    of("parse_mnist"),
)

EXPECTED: dict[str, Expect] = {
    # runaway code
    "infinite_loop_at_import": Expect("did not finish in time and was stopped"),
    "infinite_loop_in_function": Expect(
        "did not return within the time limit", LOSS, limits=limits(call_timeout_s=1.0), seconds=40
    ),
    "deep_recursion": Expect("raised RecursionError", LOSS),
    "stack_overflow": Expect("segmentation fault", either(GRAD, EPOCH), seconds=30),
    # The cell keeps ~500 MiB alive: BLAS cannot allocate afterwards; the rest may still pass.
    "memory_bomb_at_import": Expect("MemoryError", upper_bound=True, seconds=40),
    "memory_bomb_in_function": Expect("raised MemoryError", either(GRAD, EPOCH)),
    "memory_bomb_across_processes": Expect("four children hold 150 MiB each"),
    "fork_bomb": Expect("Resource temporarily unavailable"),
    "fork_bomb_spinning": Expect("did not finish in time and was stopped"),
    "background_processes": Expect("background processes started"),
    "ignores_sigterm": Expect("ignoring SIGTERM"),
    # early exits
    "sys_exit_at_import": Expect("SystemExit"),
    "os_exit_at_import": Expect("exited with status 0"),
    "sys_exit_in_function": Expect("softmax_loss raised SystemExit", LOSS),
    "os_exit_in_function": Expect("softmax_loss crashed", LOSS, seconds=30),
    "keyboard_interrupt": Expect("raised KeyboardInterrupt", either(GRAD, EPOCH)),
    "custom_base_exception": Expect("parse_mnist raised Escape", PARSE),
    "close_grader_pipes": Expect("crashed the notebook's process"),
    "kill_grader": Expect("SIGKILL to the grader failed: [Errno 1] Operation not permitted"),
    # the grader's files and state
    # In the private view the results' folder does not exist and / is read-only; without it the
    # folders are root's: either way the write fails.
    "write_results_json": Expect("could not write /autograder/results/results.json"),
    "rewrite_results_later": Expect("cannot write results.json: [Errno"),
    # /tmp is the machine's where there is no private view: writable there without Landlock.
    "rewrite_results_in_tmp": Expect("results in /tmp: ", results_in_tmp=True),
    "overwrite_grader_files": Expect("WROTE nothing: [Errno"),
    "symlink_in_worker_folder": Expect("links planted"),
    "read_hidden_tests": Expect("nothing leaked"),
    "walk_grader_memory": Expect("no grader state here"),
    "leave_files_behind": Expect("and 3 IPC objects"),
    # deceptive results
    "monkeypatch_test_machinery": Expect("the loss is 0, expected", ALL),
    "always_equal_objects": Expect("AlwaysEqual is not plain data", ALL),
    "ndarray_subclass": Expect("entries differ from the expected values", ALL),
    "object_dtype_arrays": Expect("arrays of dtype object cannot be sent", ALL),
    "nan_and_inf": Expect("non-finite values", ALL),
    "wrong_shapes": Expect("the gradient has shape (7, 20), expected (20, 7)", GRAD),
    "wrong_dtypes": Expect("X has dtype float64, expected float32", PARSE),
    "huge_return": Expect("over the 32 MiB limit", LOSS),
    "generators": Expect("returned a generator, not a value", ALL),
    # What still passes is earned: parse_mnist is the reference's, log(k) is the loss of equal
    # logits, and the epoch does return None.
    "mutate_inputs_to_match": Expect(
        "entries differ from the expected values",
        # (the public epoch test sees theta unchanged: the epoch does no SGD of its own)
        minus(ALL, either(PARSE, named("softmax_loss of equal logits"))),
    ),
    "forged_protocol_frames": Expect("broke the grader's protocol"),
    # output and network
    "forged_pass_output": Expect("is not implemented yet", ALL),
    "print_1gb": Expect(
        "more bytes of output were discarded", limits=limits(cell_timeout_s=30.0), seconds=45
    ),
    "network_connection": Expect("tcp: [Errno 13] Permission denied"),
    "disk_fill": Expect("File too large", limits=limits(cell_timeout_s=20.0), seconds=45),
    # malformed uploads (nbformat 3 is converted to 4 on reading, then graded); these and the
    # cases below attack nothing (hostile=False): they also run without the uid sandbox
    "not_json": Expect("is not valid JSON", ALL, hostile=False),
    "json_not_notebook": Expect("is JSON but not a Jupyter notebook", ALL, hostile=False),
    "invalid_notebook": Expect("is not a valid Jupyter notebook", ALL, hostile=False),
    "deeply_nested_json": Expect("is not valid JSON", ALL, hostile=False),
    "nbformat_v3": Expect("code cells ran", hostile=False),
    "no_code_cells": Expect("has no code to grade", ALL, hostile=False),
    "ten_thousand_cells": Expect("more cells with problems", seconds=45, hostile=False),
    "two_hundred_mb_notebook": Expect("over the 50 MB limit", ALL, hostile=False),
    "binary_renamed": Expect("is not a text file", ALL, hostile=False),
    "empty_file": Expect("is empty (0 bytes)", ALL, hostile=False),
    "empty_folder": Expect("the upload is empty", ALL, hostile=False),
    "several_notebooks": Expect("several notebooks were submitted", ALL, hostile=False),
    "several_notebooks_one_named": Expect(f"Graded {HW.notebook_name}", hostile=False),
    "symlink_to_reference": Expect("is a symbolic link", ALL, hostile=False),
    # correct but unusual: full marks
    "loops_not_vectorised": Expect("code cells ran", hostile=False),
    "float64_everywhere": Expect("code cells ran", hostile=False),
    "extra_helpers_and_cells": Expect("skipped (tagged skip-grading)", hostile=False),
    "renamed_imports": Expect("code cells ran", hostile=False),
    "prints_a_lot": Expect("more bytes of output were discarded", hostile=False),
    # the realistic mistakes of issue #2
    "loss_without_max_shift": Expect(
        "subtract each row's own maximum",
        named("softmax_loss of logits near 1000", "softmax_loss: logits near 1000"),
        hostile=False,
    ),
    # A batch of one is the one case where the sum is the mean. The epoch calls this gradient,
    # so its result differs from torch's SGD: no epoch test may take the student's gradient as
    # its expectation (issue #8, item 6), so only the batch-of-one epoch and the public test
    # (which checks the return value) pass.
    "grad_not_divided_by_batch": Expect(
        "the gradient: ",
        minus(
            either(GRAD, EPOCH),
            named(
                "softmax_regression_grad: a batch of one",
                "epoch: batch=1",
                "epoch changes theta and returns None",
            ),
        ),
        hostile=False,
    ),
    "epoch_drops_last_batch": Expect(
        "theta after one epoch: ",
        named("the last, smaller batch", "epoch: defaults lr=0.1", "epoch: end to end"),
        hostile=False,
    ),
    "epoch_returns_new_theta": Expect(
        "theta was not changed in place",
        named("epoch changes theta and returns None", "updates theta in place"),
        hostile=False,
    ),
    "epoch_wrong_defaults": Expect(
        "theta after one epoch: ", named("epoch: defaults lr=0.1"), hostile=False
    ),
    # reading the solutions from outside solutions/: a stub plus a cell that runs what it finds
    "steal_from_corpus_tables": Expect("stole nothing", ALL),
    "steal_from_git_history": Expect("stole nothing", ALL, seconds=40),
    "steal_via_package_paths": Expect("stole nothing", ALL),
    "steal_via_proc_and_links": Expect("stole nothing", ALL),
    "steal_other_uploads_and_results": Expect("stole nothing", ALL),
    # Without the private /proc and without Landlock (which shows the worker only its own
    # /proc entry), command lines of others (the grader's) are visible (documented).
    "read_other_processes": Expect(
        "other users' processes: 0 cmdlines, 0 environs", fallback_message=", 0 environs"
    ),
    # outliving, stopping or outrunning the cleanup: none may be left (checked for every case)
    "setsid_fork_chain": Expect("chain started"),
    "stop_the_cleanup": Expect("stoppers started"),
    "kill_the_cleanup_ring": Expect("ring started"),
    "hidden_daemon_spies_later": Expect("spy hidden"),
    "change_process_groups": Expect("children moved to groups of their own"),
    "fork_when_the_worker_dies": Expect("watchers started"),
    # The spinners slow the student's own calls (which may then time out); the run must still end
    # within its budget plus the grader's own work after it.
    "spinner_army": Expect(
        "forty spinners", upper_bound=True, limits=limits(run_timeout_s=20.0), seconds=30
    ),
    "epoch_scribbles_in_place": Expect(
        "theta after one epoch: ",
        named(
            "batches that divide N",
            "the last, smaller batch",
            "epoch: batch=1",
            "epoch: defaults",
            "float32 data",
            "updates theta in place",
            "epoch: end to end",
            "epoch changes theta and returns None",  # halving theta = 0 leaves it unchanged
        ),
        hostile=False,
    ),  # fmt: skip
    # steering (issue #8, item 6): the gradient is right whenever it is tested; every hidden
    # epoch test fails, whatever the gradient answers afterwards
    "replay_steers_an_epoch_without_sgd": Expect(
        "theta after one epoch: ", EPOCH, hostile=False
    ),  # the public test too: theta is left unchanged
    "replay_steers_an_epoch_that_never_calls_grad": Expect(
        "theta after one epoch: ",
        minus(EPOCH, named("epoch changes theta and returns None")),
        hostile=False,
    ),
    "replay_hides_a_dropped_last_batch": Expect(
        "theta after one epoch: ",
        named("the last, smaller batch", "epoch: defaults lr=0.1", "epoch: end to end"),
        hostile=False,
    ),
}

# Issue #8: the boundary's own I/O, the grader's cleanup and bookkeeping (cases_io.py).
EXPECTED.update(
    {
        # Each call fills the one-page pipe and waits out its deadline; the worker is restarted
        # (the stopping cell replays) until the grader gives up on it.
        "stops_reading_requests": Expect("did not return within the time limit", ALL, seconds=60),
        "stops_reading_past_the_budget": Expect(
            "time budget ran out",
            ALL,
            limits=limits(call_timeout_s=60.0, cell_timeout_s=60.0, run_timeout_s=10.0),
            seconds=25,
        ),
        "malformed_cell_reply": Expect("broke the grader's protocol"),
        "malformed_call_replies": Expect("returned something the grader cannot accept", LOSS),
        "spoofed_text_in_messages": Expect("\\x1b[2J\\x1b[H\\x0dTOTAL 31/31 \\u202e\ufffd", ALL),
        "spoofed_text_in_output": Expect("\\x1b[1A\\x1b[32mPASSED"),
        "largest_replies": Expect("parse_mnist should return (X, y)", ALL, seconds=60),
        # 3 scratch folders without the kernel layers; with them the host's /tmp (and the shared
        # scratch folder in it) is out of sight, so the trees go in the 2 that remain.
        "deep_folders_left_behind": Expect("built 1500 levels in", seconds=40),
        # rmdir takes ~1 ms on a busy machine
        "links_to_decoy_left_behind": Expect("links planted in /dev/shm and ., "),
        "reads_other_runs_files": Expect("read nothing of the earlier run"),
        "huge_error_messages": Expect("softmax_loss raised ValueError: huge error AAA", ALL),
        "magics_beside_continuation_lines": Expect("code cells ran", hostile=False),
    }
)


# ---- what the machine looks like around a grading run ---------------------------------------


def _status_uids(pid: str) -> set[int]:
    try:
        status = Path(f"/proc/{pid}/status").read_bytes().decode(errors="replace")  # any name
    except OSError:
        return set()
    line = next((ln for ln in status.splitlines() if ln.startswith("Uid:")), "Uid:")
    return {int(u) for u in line.split()[1:]}


def processes_of(uid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and uid in _status_uids(p)]


def our_children() -> set[int]:
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            # Bytes: a process may name itself with any (test_session's non-UTF-8 name, which
            # another run on the machine may have alive while this one scans).
            fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(pid))
    return found


def files_of(uid: int, folders: list[str]) -> list[str]:
    """Paths owned by `uid` in these folders and in every world-writable folder inside them
    (the only places an unprivileged uid without groups can create anything)."""
    found, stack = [], list(folders)
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # another program's temporary file, gone since
                continue
            if info.st_uid == uid:
                found.append(entry.path)
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o002:
                stack.append(entry.path)
    return found


def ipc_objects_of(uid: int) -> list[str]:
    found = []
    for kind in ("shm", "sem", "msg"):
        try:
            header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        columns = header.split()
        for row in rows:
            fields = dict(zip(columns, row.split(), strict=False))
            if str(uid) in (fields.get("uid"), fields.get("cuid")):
                found.append(f"{kind} {row.split()[1]}")
    return found


# Where an attack on the grader would add files: its package, and site-packages (a .pth file or
# sitecustomize.py runs in every later Python process of that environment).
GRADER_FOLDERS = (Path(dlhw.autograder.__path__[0]), Path(sysconfig.get_paths()["purelib"]))


def grader_files() -> list[Path]:
    """Files an attack on the grader would change: its modules, hidden tests, startup hooks.
    (Compared by the attack's mark, not by content: other people edit this checkout.)"""
    package, site = GRADER_FOLDERS
    return [
        *package.glob("*.py"),
        *(REPO / "solutions").rglob("*.py"),
        REPO / "tests" / "conftest.py",
        *site.glob("*.pth"),
        *site.glob("sitecustomize.py"),
    ]


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_tests() -> dict[str, float]:
    """Test name -> points, from grading the master notebook (which must earn them all)."""
    with tempfile.TemporaryDirectory() as tmp:
        outcome = grade(HW, HW.master, Path(tmp) / "results.json", limits=LIMITS)
    assert outcome.score == outcome.max_score > 20, outcome.results["output"]
    return {t["name"]: t["max_score"] for t in outcome.results["tests"]}


@dataclass
class Surroundings:
    """The test's side of the attacks: a listening port, a decoy folder, a shared scratch
    folder, an earlier run's upload and results, and every Session a grading run creates."""

    listener: socket.socket
    decoy: Path
    shared_scratch: Path
    earlier: Path
    other_upload: Path
    sessions: list[Session] = field(default_factory=list)

    def context(self, results: Path) -> Context:
        return Context(
            results_path=str(results),
            listen_port=self.listener.getsockname()[1],
            decoy_dir=str(self.decoy),
            shared_scratch=str(self.shared_scratch),
            earlier_upload=str(self.earlier / HW.notebook_name),
            earlier_results=str(self.earlier / "results.json"),
            other_upload=str(self.other_upload),
        )

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture(scope="module")
def surroundings() -> Iterator[Surroundings]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    decoy = Path(tempfile.mkdtemp(prefix="dlhw-corpus-decoy-"))
    (decoy / "victim.txt").write_text("untouched")
    os.chmod(decoy, 0o755)
    shared = Path(tempfile.mkdtemp(prefix="dlhw-corpus-shared-"))
    os.chmod(shared, 0o1777)  # like /tmp/.X11-unix: root's, writable by all
    # An earlier run, graded from (and into) a folder every user can enter, as a course server
    # might keep them: the upload, world-readable when it arrived, and its results.
    earlier = Path(tempfile.mkdtemp(prefix="dlhw-corpus-earlier-"))
    os.chmod(earlier, 0o755)
    (earlier / HW.notebook_name).write_text(HW.master.read_text())
    os.chmod(earlier / HW.notebook_name, 0o644)
    grade(HW, earlier / HW.notebook_name, earlier / "results.json", limits=LIMITS)
    # Another student's correct upload, as the grader keeps one: in a folder of its own (0700).
    uploads = Path(tempfile.mkdtemp(prefix="dlhw-corpus-upload-"))
    other = uploads / HW.notebook_name
    shutil.copyfile(HW.master, other)
    os.chmod(other, 0o644)
    try:
        yield Surroundings(listener, decoy, shared, earlier, other)
    finally:
        listener.close()
        for folder in (decoy, shared, earlier, uploads):
            remove_tree(folder)


@pytest.fixture
def results_file(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Where this run's results go: a folder every user can enter but only root can write, as
    /autograder/results on Gradescope; or straight into /tmp for `results_in_tmp` cases."""
    expect = EXPECTED[request.node.callspec.params["name"]]
    if expect.results_in_tmp:
        fd, name = tempfile.mkstemp(prefix="dlhw-corpus-", suffix="-results.json", dir="/tmp")
        os.close(fd)
        os.unlink(name)  # the student may create it first
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
        return
    root = Path(tempfile.mkdtemp(prefix="dlhw-corpus-results-"))
    os.chmod(root, 0o755)
    (root / "results").mkdir(mode=0o755)
    try:
        yield root / "results" / "results.json"
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---- the corpus ----------------------------------------------------------------------------


def test_every_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(build_corpus.BY_NAME)


def test_nothing_in_the_repository_is_writable_by_other_users() -> None:
    """What lets the per-case checks below look only in scratch folders for new files."""
    writable = [
        os.path.join(folder, name)
        for folder, dirs, files in os.walk(REPO)
        for name in dirs + files
        if not os.path.islink(os.path.join(folder, name))
        and os.lstat(os.path.join(folder, name)).st_mode & 0o002
    ]
    assert writable == []


def test_the_build_script_writes_named_uploads(tmp_path: Path) -> None:
    assert build_corpus.main([str(tmp_path), "empty_file", "empty_folder", "fork_bomb"]) == 0
    assert listing(tmp_path) == ["empty_file.ipynb", "empty_folder", "fork_bomb.ipynb"]


# Graded a second time with the kernel layers off (DLHW_KERNEL_LAYERS=off): the fallback must
# hold against these too (every case runs with whatever layers the machine gives).
BOTH_PATHS = {c.name for c in cases_escape.CASES} | {
    "background_processes",
    "ignores_sigterm",
    "fork_bomb_spinning",
    "kill_grader",
    "read_hidden_tests",
    "rewrite_results_later",
    "leave_files_behind",
}
RUNS = [(n, "default") for n in build_corpus.BY_NAME] + [
    (n, "off") for n in build_corpus.BY_NAME if n in BOTH_PATHS
]


@pytest.mark.parametrize(("name", "layers"), RUNS, ids=[f"{n}-{m}" for n, m in RUNS])
def test_case(
    name: str,
    layers: str,
    tmp_path: Path,
    results_file: Path,
    reference_tests: dict[str, float],
    surroundings: Surroundings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expect = EXPECTED[name]
    if expect.hostile and not ISOLATED:
        pytest.skip("hostile cases need the uid sandbox (run as root, without DLHW_SANDBOX)")
    if layers == "off":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    kernel = layers == "default" and ISOLATED and not namespaces_unavailable()
    upload = write_upload(build_corpus.BY_NAME[name], surroundings.context(results_file), tmp_path)

    sessions = surroundings.sessions = []

    class RecordedSession(Session):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            sessions.append(self)

    monkeypatch.setattr(grading, "Session", RecordedSession)
    children = our_children()

    start = time.monotonic()
    outcome = grade(HW, upload, results_file, limits=expect.limits)
    elapsed = time.monotonic() - start

    # A results file that is valid, the grader's own, and stays so.
    written = json.loads(results_file.read_text())
    validate(written)
    assert written == outcome.results
    assert elapsed <= expect.seconds, f"grading took {elapsed:.1f} s"

    # Exactly the points the real work earned.
    names = list(reference_tests)
    assert [t["name"] for t in outcome.results["tests"]] == names
    must_fail = expect.failed(names)
    failed = {t["name"] for t in outcome.results["tests"] if t["status"] != "passed"}
    assert all(t["score"] in (0, t["max_score"]) for t in outcome.results["tests"])
    earned = sum(p for n, p in reference_tests.items() if n not in must_fail)
    if expect.upper_bound:
        assert must_fail <= failed and outcome.score <= earned
    else:
        assert failed == must_fail, _feedback(outcome)
        assert outcome.score == earned

    # Everything stored is safe to print: no control or format character, no lone surrogate,
    # no line of a hidden test's code (pytest's assertion explanations); the CLI table prints.
    texts = [outcome.results["output"]] + [
        text for t in outcome.results["tests"] for text in (t["output"], t["name"])
    ]
    assert all(clean(text) == text for text in texts)
    assert not any(
        ln.lstrip().startswith(("assert ", "+ where")) for t in texts for ln in t.splitlines()
    )
    table = format_table(outcome, name)
    table.encode("utf-8")
    assert "\x1b" not in table and "\r" not in table

    # The student is told what happened.
    visible = [outcome.results["output"]] + [
        t["output"] for t in outcome.results["tests"] if t["visibility"] != "hidden"
    ]
    message = expect.message if kernel else (expect.fallback_message or expect.message)
    assert any(message in text for text in visible), _feedback(outcome)

    # The staff log says which layers were active, and that nothing survived.
    if sessions:
        assert "kernel layers: " + ("namespaces" if kernel else "") in outcome.staff_log
        assert "SURVIVED" not in outcome.staff_log, outcome.staff_log[-2000:]

    # Nothing of the submission is left: processes, files, IPC objects; nothing else touched.
    assert our_children() <= children
    decoy = surroundings.decoy
    assert decoy.is_dir() and os.stat(decoy).st_uid == os.getuid(), "the decoy was taken over"
    assert listing(decoy) == ["victim.txt"] and (decoy / "victim.txt").read_text() == "untouched"
    for session in sessions:
        assert not session.workdir.exists()
        assert session.shared_dir is None or not session.shared_dir.exists()
        uid = session.identity.uid
        if uid is not None:
            assert SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + SANDBOX_UID_SPAN
            assert processes_of(uid) == []
            writable = [*SCRATCH_ROOTS, str(decoy), *map(str, GRADER_FOLDERS)]
            assert files_of(uid, writable) == []
            assert ipc_objects_of(uid) == []
    for path in grader_files():
        assert MARK not in path.read_text(errors="replace"), f"{path} was written to"
    assert surroundings.connections() == 0
    time.sleep(0.2)  # a writer the grader missed would show now
    assert json.loads(results_file.read_text()) == outcome.results


def _feedback(outcome: GradeOutcome) -> str:
    lines = [outcome.results["output"][:3000]]
    lines += [f"{t['name']}: {t['output'][:300]}" for t in outcome.results["tests"]]
    return "\n".join(lines)
