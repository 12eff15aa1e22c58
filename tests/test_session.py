"""The worker session without any homework: deadlines, crashes, replay, output caps, confinement."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import time

import numpy as np
import pytest

from dlhw.autograder import confinement
from dlhw.autograder.breaker import references
from dlhw.autograder.confinement import Limits
from dlhw.autograder.session import Session
from dlhw.autograder.submission import StudentError, Submission

LIMITS = Limits(call_timeout_s=2.0, cell_timeout_s=2.0, run_timeout_s=60.0, max_output_bytes=1000)


@pytest.fixture
def session():
    with Session(LIMITS) as s:
        yield s


def statuses(session: Session) -> list[str]:
    return [r.status for r in session.reports]


def test_cells_run_in_order_and_errors_do_not_stop_the_rest(session):
    session.run_cells(
        [
            (0, "a = 1"),
            (1, "raise ValueError('bad cell')"),
            (2, "import sys; sys.exit(3)"),
            (3, "def f(x):\n    return x + a"),
        ]
    )
    assert statuses(session) == ["ok", "error", "error", "ok"]
    assert "ValueError: bad cell" in session.reports[1].message
    assert Submission(session).f(41) == 42


# A correct dataclass with a ClassVar dict: it fails where its annotations are strings that
# dataclasses cannot resolve in the class's module ("mutable default").
CLASSVAR_DATACLASS = (
    "from dataclasses import dataclass\n"
    "from typing import ClassVar\n"
    "@dataclass\n"
    "class Config:\n"
    "    DEFAULTS: ClassVar[dict] = {'lr': 0.1}\n"
    "    lr: float = 0.01\n"
    "def default_lr():\n"
    "    return Config.DEFAULTS['lr'] + Config().lr\n"
)


def test_cells_are_compiled_without_the_workers_future_imports(session):
    """As in Jupyter, annotations are evaluated: the worker's own `from __future__ import
    annotations` once made them strings, and a correct dataclass with a ClassVar dict failed."""
    session.run_cells(
        [
            (
                0,
                CLASSVAR_DATACLASS + "def annotation_kind():\n"
                "    def f(x: int) -> None: ...\n"
                "    return type(f.__annotations__['x']).__name__\n",
            )
        ]
    )
    assert statuses(session) == ["ok"], session.reports[0].message
    sub = Submission(session)
    assert sub.annotation_kind() == "type"
    assert sub.default_lr() == 0.11


def test_a_future_import_in_one_cell_holds_for_the_later_cells(session):
    """As in Jupyter (IPython compiles each cell with the __future__ flags of the cells before
    it): `from __future__ import annotations` at the top of the first cell lets a later cell's
    class annotate its methods with itself, which would otherwise be a NameError."""
    session.run_cells(
        [
            (0, "from __future__ import annotations\nimport math\n"),
            (
                1,
                "class Node:\n"
                "    def __add__(self, other: Node | float) -> Node:\n"
                "        return self\n"
                "def annotation_kind():\n"
                "    return type(Node.__add__.__annotations__['other']).__name__\n",
            ),
        ]
    )
    assert statuses(session) == ["ok", "ok"], session.reports
    assert Submission(session).annotation_kind() == "str"


def test_a_dropped_cells_future_import_still_holds_after_a_restart(session):
    """The cell that said `from __future__ import annotations` hung and was dropped, but it was
    compiled, so (as in Jupyter) the later cells were compiled with it: a restart replays them
    the same way, or the class below fails with a NameError after the first crash."""
    session.run_cells(
        [
            (0, "from __future__ import annotations\nwhile True:\n    pass\n"),
            (
                1,
                "import os\n"
                "class Node:\n"
                "    def __add__(self, other: Node | float) -> Node:\n"
                "        return self\n"
                "def annotation_kind():\n"
                "    return type(Node.__add__.__annotations__['other']).__name__\n"
                "def die():\n"
                "    os._exit(1)\n",
            ),
        ]
    )
    assert statuses(session) == ["timeout", "ok"], session.reports
    sub = Submission(session)
    assert sub.annotation_kind() == "str"
    with pytest.raises(StudentError, match="crashed"):
        sub.die()
    assert sub.annotation_kind() == "str"  # after the restart and its replay
    assert session.restarts == 2


def test_string_annotations_resolve_in_the_notebooks_own_module(session):
    """With `from __future__ import annotations`, dataclasses reads `ClassVar[dict]` from the
    module the class names (sys.modules['__main__']), which in Jupyter is the notebook's
    namespace. In the worker it must be too, or a correct dataclass fails ("mutable default")."""
    session.run_cells(
        [
            (0, "from __future__ import annotations\n"),
            (1, CLASSVAR_DATACLASS),
        ]
    )
    assert statuses(session) == ["ok", "ok"], session.reports
    assert Submission(session).default_lr() == 0.11


def test_a_hanging_cell_is_dropped_and_the_others_replayed(session):
    start = time.monotonic()
    session.run_cells([(0, "a = 2"), (1, "while True:\n    pass"), (2, "def f():\n    return a")])
    assert statuses(session) == ["ok", "timeout", "ok"]
    assert Submission(session).f() == 2
    assert session.restarts == 1 and time.monotonic() - start < 10


def test_os_exit_in_a_function_is_a_readable_failure_and_the_worker_comes_back(session):
    session.run_cells([(0, "import os\ndef die():\n    os._exit(0)\ndef ok():\n    return 'fine'")])
    sub = Submission(session)
    with pytest.raises(StudentError, match=r"die crashed: .*exited with status 0"):
        sub.die()
    assert sub.ok() == "fine"


def test_call_timeout_names_the_function(session):
    session.run_cells([(0, "def spin():\n    while True:\n        pass")])
    with pytest.raises(StudentError, match="spin did not return within the time limit"):
        Submission(session).spin()


BREAKER_CELL = """
import time

def spin():
    while True:
        pass

def slow(seconds):
    time.sleep(seconds)
    return seconds
"""


def test_a_function_that_never_returns_costs_one_time_out_then_is_given_up(session):
    """The time-out breaker: a function that never returns costs one full time-out (2 s here),
    then one retry_timeout_s (1 s); later calls are not made, fail at once, and say why."""
    session.run_cells([(0, BREAKER_CELL)])
    sub = Submission(session)
    with pytest.raises(StudentError, match=r"within 2 s\)"):
        sub.spin()
    with pytest.raises(StudentError) as failure:
        sub.spin()
    assert "within 1 s: spin already ran past its limit (2 s in an earlier test)" in str(
        failure.value
    )
    generation = session.generation
    for _ in range(3):
        with pytest.raises(StudentError) as failure:
            sub.spin()
        assert str(failure.value).startswith("spin was not run: spin did not return within 1 s")
        assert "so the grader stopped calling it in this run" in str(failure.value)
    assert session.generation == generation  # not called: no worker was started for it
    assert session.hung == {"spin"} and len(session.unanswered) == 5
    assert sub.slow(0.01) == 0.01  # other functions are called as before


def test_a_function_slow_only_on_large_inputs_still_answers_small_calls(session):
    session.run_cells([(0, BREAKER_CELL)])
    sub = Submission(session)
    with pytest.raises(StudentError, match="did not return"):
        sub.slow(3.0)  # past the 2 s limit
    assert sub.slow(0.01) == 0.01  # called again, under 1 s, and answers
    with pytest.raises(StudentError, match="already ran past"):
        sub.slow(1.5)  # would pass under the full limit: the breaker's price, stated
    # It answered between its time-outs: never given up, called again every time.
    assert sub.slow.timed(5.0)(0.01) == 0.01  # a test's own longer limit is shortened too,
    with pytest.raises(StudentError, match=r"within 3 s: slow already ran past its limit \(2 s"):
        sub.slow.timed(30.0)(3.5)  # to a tenth of it (at least retry_timeout_s)
    assert sub.slow.timed(30.0)(2.0) == 2.0
    # Other functions keep the full limit.
    session.run_cells([(1, "def other(seconds):\n    time.sleep(seconds)\n    return 7")])
    assert sub.other(1.5) == 7 and session.hung == {"slow"}


CALLER_CELL = """
def spin():
    while True:
        pass

def uses_spin(x):
    return spin() if x else 'no spin'

def unrelated():
    return 'unrelated'
"""


def test_a_function_that_calls_a_hung_one_gets_the_shorter_limit_too(session):
    """A function whose code names a hung function (read from the notebook's source) gets the
    short limit from its first call; one that answered is never given up."""
    session.run_cells([(0, CALLER_CELL)])
    session.breaker.reach = references([CALLER_CELL])
    assert session.breaker.reach["uses_spin"] == {"spin"}
    sub = Submission(session)
    with pytest.raises(StudentError, match=r"within 2 s\)"):
        sub.spin()
    assert sub.uses_spin(False) == "no spin"  # under 1 s, and answers
    with pytest.raises(StudentError) as failure:
        sub.uses_spin(True)
    assert "did not finish within 1 s" in str(failure.value)
    assert "spin already ran past its limit (2 s in an earlier test), and uses_spin calls it" in (
        str(failure.value)
    )
    # uses_spin answered before: not given up (it may hang only on some inputs).
    assert sub.uses_spin(False) == "no spin"
    assert sub.unrelated() == "unrelated"


def test_references_are_read_from_source_and_bad_cells_add_nothing():
    cells = [
        "class Model:\n    def forward(self, x):\n        return helper(x)\n"
        "    def step(self):\n        return self.forward(1)",
        "def helper(x):\n    return inner(x)\ndef inner(x):\n    return x",
        "%timeit helper(1)",  # a magic: not Python
        "(" * 1000 + ")" * 1000,  # too deep for the parser
    ]
    reach = references(cells)
    assert reach["helper"] == {"inner"} and reach["inner"] == frozenset()
    assert reach[".forward"] == {"helper", "inner"}
    assert reach[".step"] == {".forward", "helper", "inner"}
    assert reach["Model"] >= {".forward", ".step", "helper", "inner"}
    assert reach["not defined"] == frozenset()


CATCHING_TESTS = '''
import pytest
from dlhw.autograder.submission import StudentError

@pytest.mark.parametrize("i", range(4))
def test_raises(sub, i):
    """spin raises on bad input"""
    try:
        sub.spin()
    except StudentError:
        pass

def test_other(sub):
    """slow answers"""
    assert sub.slow(0.0) == 0.0
'''


def test_a_call_that_got_no_answer_fails_its_test_even_if_the_test_caught_it(tmp_path):
    """A test that expects the student's function to raise, and catches StudentError, must not
    pass because the call timed out or was not made by the breaker."""
    from dlhw.autograder.grading import run_tests

    tests = tmp_path / "test_catching.py"
    tests.write_text(CATCHING_TESTS)
    with Session(LIMITS) as session:
        session.run_cells([(0, BREAKER_CELL)])
        entries, _ = run_tests([tests], Submission(session))
    by_name = {e.name: e for e in entries}
    for i in range(4):
        entry = by_name[f"spin raises on bad input [{i}]"]
        assert entry.status == "failed" and entry.score == 0, entry
        assert "got no answer" in entry.output
    assert "stopped calling it" in by_name["spin raises on bad input [3]"].output
    # The earlier test is named (it is visible to students).
    assert (
        "in test 'spin raises on bad input [1]'" in by_name["spin raises on bad input [3]"].output
    )
    assert by_name["slow answers"].status == "passed"


def test_arguments_are_copies_and_in_place_updates_come_back_explicitly(session):
    session.run_cells([(0, "def bump(a):\n    a += 1")])
    a = np.zeros(3)
    result = Submission(session).bump.with_args(a)
    assert (a == 0).all() and (result.args[0] == 1).all() and result.value is None


def test_output_is_capped_and_counted(session):
    session.run_cells([(0, "print('x' * 100_000)")])
    out = session.output()
    assert len(out) < 2000 and "more bytes of output were discarded" in out


def test_network_is_blocked(session):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        session.run_cells(
            [
                (
                    0,
                    f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    r = 'connected'\nexcept OSError as e:\n    r = type(e).__name__\ndef result():\n    return r",
                )
            ]
        )
        assert Submission(session).result() == "PermissionError"
    finally:
        server.close()


def test_memory_limit_gives_memory_error(session):
    session.run_cells(
        [
            (
                0,
                "try:\n    x = bytearray(2 * 1024**3)\n    r = 'allocated'\nexcept MemoryError:\n    r = 'MemoryError'\ndef result():\n    return r",
            )
        ]
    )
    assert Submission(session).result() == "MemoryError"


def _processes_running(argv: list[str]) -> list[int]:
    """Pids (as this process sees them) of processes whose command line is exactly `argv`."""
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() == wanted:
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("layers", ["default", "cgroups only", "off"])
def test_leftover_processes_are_killed(layers, monkeypatch):
    if layers == "off":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    if layers == "cgroups only":  # as in a container without CAP_SYS_ADMIN but with cgroupfs
        monkeypatch.setattr(confinement, "namespaces_unavailable", lambda: "simulated")
    # A unique command line: inside a PID namespace the worker's pids are not ours.
    argv = ["sleep", f"300.{os.getpid()}{int(time.time() * 1000) % 10**6}"]
    with Session(LIMITS) as s:
        s.run_cells(
            [(0, f"import subprocess\np = subprocess.Popen({argv!r}, start_new_session=True)")]
        )
        deadline = time.monotonic() + 5
        while not _processes_running(argv) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_running(argv), "the leftover never ran"  # alive while grading
    assert _processes_running(argv) == []
    assert s.survivors == []
    if layers == "cgroups only" and s.identity.isolated:
        assert "cgroup" in s.notes[-1] and "namespaces unavailable (simulated)" in s.notes[-1]


@pytest.mark.skipif(
    os.geteuid() != 0 or os.environ.get("DLHW_SANDBOX") == "same-user",
    reason="killing by uid or cgroup needs root",
)
@pytest.mark.parametrize("layers", ["default", "off"])
def test_a_daemon_whose_main_thread_ended_does_not_outlive_the_session(layers, monkeypatch):
    """Its main thread ends alone (the exit system call): /proc/<pid>/stat then reads "Z" while
    its other thread runs on, unseen in /proc's listing; the clean-up must not take it for a
    zombie (by uid, without cgroups, it did: close() saw nothing left)."""
    from dlhw.autograder.killing import processes_of_uid

    if layers == "off":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    cell = (
        "import ctypes, os, threading, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        threading.Thread(target=lambda: time.sleep(300)).start()\n"
        "        exit = {'x86_64': 60, 'aarch64': 93}[os.uname().machine]  # SYS_exit\n"
        "        ctypes.CDLL(None).syscall(exit, 0)  # this thread only\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)"
    )

    def live_threads(uid: int) -> list[str]:
        found = []
        for pid in processes_of_uid(uid):
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                            found.append(tid)
            except OSError:
                continue
        return found

    with Session(LIMITS) as s:
        s.run_cells([(0, cell)])
        assert s.reports[0].status == "ok", s.reports
    try:
        assert live_threads(s.identity.uid) == [] and s.survivors == []
    finally:
        for pid in processes_of_uid(s.identity.uid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(
    os.geteuid() != 0 or os.environ.get("DLHW_SANDBOX") == "same-user",
    reason="uid separation needs root",
)
@pytest.mark.parametrize("layers", ["default", "off"])
def test_worker_runs_as_an_unprivileged_uid_that_cannot_read_private_files(
    layers, tmp_path, monkeypatch
):
    if layers == "off":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    with Session(LIMITS) as session:
        _check_unprivileged(session, tmp_path)


def _check_unprivileged(session: Session, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden test")
    os.chmod(tmp_path, 0o700)
    session.run_cells(
        [
            (
                0,
                f"import os\ndef who():\n    return os.getuid()\ndef peek():\n    return open({str(secret)!r}).read()",
            )
        ]
    )
    sub = Submission(session)
    assert sub.who() >= 61000
    # Closed by permissions; with the kernel layers, not even in the worker's view.
    with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
        sub.peek()


# ---- issue #8: deadlines on writes, malformed replies, cleanup that always finishes -------------

STOP_READING = """
import fcntl
import sys
import time

from dlhw.autograder.wire import protocol

fd = int(sys.argv[sys.argv.index("--read-fd") + 1])
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ: the smallest pipe, one page
protocol.Channel.receive = lambda self, *a: time.sleep(3600)  # never reads another request
"""


def test_a_worker_that_stops_reading_cannot_block_the_grader_in_a_write():
    """A request larger than the pipe: the write waits in select() until the call's deadline."""
    with Session(LIMITS) as s:
        s.run_cells([(0, "def f(x):\n    return 1"), (1, STOP_READING)])
        assert statuses(s) == ["ok", "ok"]
        start = time.monotonic()
        with pytest.raises(StudentError, match="f did not return within the time limit"):
            Submission(s).f(np.zeros(100_000))  # 800 KB: far more than the pipe holds
        assert time.monotonic() - start < LIMITS.call_timeout_s + 1.5


def test_a_write_is_bounded_by_the_run_budget_too():
    limits = Limits(call_timeout_s=30.0, cell_timeout_s=30.0, run_timeout_s=4.0)
    with Session(limits) as s:
        s.run_cells([(0, "def f(x):\n    return 1"), (1, STOP_READING)])
        with pytest.raises(StudentError, match="time budget ran out"):
            Submission(s).f(np.zeros(100_000))
        assert s.remaining() < 0.5


FORGE_CELL_REPLY = """
import sys

from dlhw.autograder.wire import protocol

real_send = protocol.Channel.send


def forged(self, message, *rest):
    protocol.Channel.send = real_send
    header = b'{"body": {"__dict__": {"ok": true, "error": {"__complex__": 1}}}, "buffers": []}'
    import os
    os.write(self.write_fd, protocol.HEADER.pack(len(header)) + header)


protocol.Channel.send = forged
"""


def test_a_malformed_cell_reply_replaces_the_worker_and_later_cells_still_run(session):
    session.run_cells([(0, "a = 1"), (1, FORGE_CELL_REPLY), (2, "def f():\n    return a + 1")])
    assert statuses(session) == ["ok", "protocol", "ok"]
    assert "sent a reply the grader cannot accept" in session.reports[1].message
    assert Submission(session).f() == 2 and session.restarts == 1


# A reply with a Generator whose SeedSequence would ask numpy for a pool of 10**9 words (4 GB).
FORGE_GENERATOR_REPLY = """
import os
import signal
import sys
import time

import numpy as np

from dlhw.autograder.wire import protocol

WRITE_FD = int(sys.argv[sys.argv.index("--write-fd") + 1])
STATE = np.random.PCG64(1).state["state"]


def f():
    seed_seq = {"entropy": 1, "spawn_key": [], "pool_size": 10**9, "n_children_spawned": 0}
    state = {"bit_generator": "PCG64", "state": {"__dict__": STATE}, "has_uint32": 0,
             "uinteger": 0}
    generator = {"state": {"__dict__": state}, "seed_seq": {"__dict__": seed_seq}}
    body = {"__dict__": {"ok": True, "value": {"__generator__": {"__dict__": generator}}}}
    header = protocol.json.dumps({"body": body, "buffers": []}).encode()
    os.write(WRITE_FD, protocol.HEADER.pack(len(header)) + header)
    time.sleep(3600)
"""


def test_a_forged_generator_in_a_reply_is_a_protocol_error(session):
    session.run_cells([(0, FORGE_GENERATOR_REPLY)])
    with pytest.raises(StudentError, match="cannot accept: malformed SeedSequence: its pool size"):
        Submission(session).f()


def test_printed_escapes_and_bad_text_are_cleaned(session):
    session.run_cells([(0, "print('\\x1b[2J\\rTOTAL 31/31\\u202e'); raise ValueError('\\ud800')")])
    deadline = time.monotonic() + 5  # the output is drained by a thread of its own
    while "TOTAL" not in (out := session.output()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "\x1b" not in out and "\r" not in out and "\\x1b[2J\\x0dTOTAL 31/31\\u202e" in out
    session.reports[0].message.encode("utf-8")  # the lone surrogate is gone


def test_cells_run_exactly_as_written_control_characters_included(session):
    # A form feed is whitespace to Python, a zero-width space is text: cleaning them on the way
    # in (as text from the worker is cleaned) would change what the student wrote.
    session.run_cells([(0, "\x0cdef f():\n    return len('a\u200bb\x1b')\n")])
    assert statuses(session) == ["ok"]
    assert Submission(session).f() == 4


def test_cleanup_goes_on_when_a_step_fails(monkeypatch):
    import dlhw.autograder.session as session_module

    def broken(*args: object, **kwargs: object) -> int:
        raise RecursionError("as a deep tree once made it")

    monkeypatch.setattr(session_module, "remove_scratch_files", broken)
    s = Session(LIMITS)
    s.run_cells([(0, "x = 1")])
    shared = s.share_file("data.bin", b"123")
    with pytest.raises(RecursionError):
        s.close()
    assert not s.workdir.exists() and not os.path.exists(shared)
    assert any("remove scratch files" in n for n in s.notes)


@pytest.mark.skipif(
    os.geteuid() != 0 or os.environ.get("DLHW_SANDBOX") == "same-user",
    reason="killing by uid or cgroup needs root",
)
@pytest.mark.parametrize("layers", ["default", "off"])
def test_what_runs_when_the_budget_is_spent_is_killed_before_the_session_closes(
    layers, monkeypatch
):
    if layers == "off":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    argv = ["sleep", f"301.{os.getpid()}{int(time.time() * 1000) % 10**6}"]
    limits = Limits(call_timeout_s=5.0, cell_timeout_s=5.0, run_timeout_s=6.0)
    with Session(limits) as s:
        s.run_cells(
            [(0, f"import subprocess\np = subprocess.Popen({argv!r}, start_new_session=True)")]
        )
        assert s.reports[0].status == "ok", s.reports
        deadline = time.monotonic() + 5
        while not _processes_running(argv) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_running(argv), "the leftover never ran"
        # The watchdog fires half a second after the budget is spent.
        time.sleep(max(s.deadline + 1.5 - time.monotonic(), 0.0))
        assert _processes_running(argv) == []  # gone already, though the session is still open


def test_a_failure_in_the_cell_thread_reaches_the_grading_thread():
    """Cells run in a thread while the oracles load: what stops it must not vanish with it."""
    from dlhw.autograder.grading import CellRunner

    class Broken:
        def live_generation(self) -> int:
            return 1

        def run_cells(self, cells: object) -> None:
            raise RuntimeError("the grader's own bug")

    runner = CellRunner(Broken(), [(0, "x = 1")])  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="the grader's own bug"):
        runner.join()


def test_a_worker_that_cannot_start_early_reaches_the_grading_thread():
    from dlhw.autograder.grading import CellRunner
    from dlhw.autograder.session import SandboxError

    class NoStart:
        def live_generation(self) -> int:
            raise SandboxError("no worker here")

    runner = CellRunner(NoStart())  # type: ignore[arg-type]
    runner.run([(0, "x = 1")])
    with pytest.raises(SandboxError, match="no worker here"):
        runner.join()


def test_the_worker_starts_before_the_cells_are_handed_over():
    """grade starts the worker, then reads the notebook: the worker boots meanwhile."""
    from dlhw.autograder.grading import CellRunner

    with Session(LIMITS) as session:
        runner = CellRunner(session)
        deadline = time.monotonic() + 30
        while session.running_generation() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.running_generation() == 1 and session.cells == []
        runner.run([(0, "x = 41"), (1, "x += 1")])
        runner.join()
        assert [r.status for r in session.reports] == ["ok", "ok"]
        assert session.running_generation() == 1  # the same worker ran them


SHORT_ARGS = """
import sys

Worker = sys.modules["dlhw.autograder.worker.loop"].Worker
real_call = Worker.call


def call(self, request):
    reply = real_call(self, request)
    if "args" in reply:
        reply["args"] = []  # a list, as expected, but not the arguments that were sent
    return reply


Worker.call = call


def scale(a, k):
    a *= k
"""


def test_a_reply_with_other_arguments_than_were_sent_is_malformed(session):
    """with_args: the arguments come back as many as were sent (a test indexes them)."""
    session.run_cells([(0, SHORT_ARGS)])
    assert statuses(session) == ["ok"]
    with pytest.raises(StudentError, match="malformed reply"):
        Submission(session).scale.with_args(np.ones(3), 2.0)


def test_a_process_named_with_bytes_that_are_not_utf8_breaks_no_other_run():
    """A process of the submission may name itself with any bytes (its /proc `stat` and
    `status` hold them): every /proc scan still works, so another run started meanwhile (another
    student's, in a batch) and this run's own cleanup are unaffected."""
    cell = (
        "import os, time\n"
        "open('/proc/self/comm', 'wb').write(b'\\xff\\xfe\\x1bname')\n"
        "if os.fork() == 0:\n"
        "    time.sleep(300)\n"
    )
    with Session(LIMITS) as session:
        session.run_cells([(0, cell)])
        assert statuses(session) == ["ok"]
        with Session(LIMITS) as other:  # scans every process of the machine
            other.run_cells([(0, "x = 1")])
            assert statuses(other) == ["ok"]
    assert session.survivors == [] and not any("failed" in n for n in session.notes)


def test_a_function_that_crashes_the_worker_twice_in_a_row_is_given_up(session):
    """Each crash costs a restart and a replay; after two in a row, with no answer in between,
    later calls are not made (and say why). One that answered in between is called again."""
    session.run_cells(
        [(0, "import os\ndef die(x):\n    if x:\n        os._exit(3)\n    return 'alive'")]
    )
    sub = Submission(session)
    with pytest.raises(StudentError, match="die crashed"):
        sub.die(1)
    assert sub.die(0) == "alive"  # answered: the next crash is not held against it
    with pytest.raises(StudentError, match="die crashed"):
        sub.die(1)
    with pytest.raises(StudentError, match="die crashed"):
        sub.die(1)
    restarts = session.restarts
    with pytest.raises(StudentError) as failure:
        sub.die(0)
    assert "crashed your notebook's process in an earlier test, as it did in an earlier test" in (
        str(failure.value)
    )
    assert "stopped calling it" in str(failure.value) and session.restarts == restarts


def test_references_of_a_huge_or_hostile_notebook_cost_little():
    """The grader parses the student's source: past MAX_SOURCE_CHARS it stops (no parse of a
    50 MB notebook), a cell past MAX_CELL_CHARS is not read (its tree alone took ~610 MB for a
    megabyte), and a long chain of functions is closed in linear time (once per name)."""
    from dlhw.autograder import breaker

    chain = [
        "\n".join(f"def f{i}():\n    return f{i + 1}()" for i in range(start, start + 2_000))
        for start in range(0, 20_000, 2_000)
    ]  # 20,000 functions in 10 cells, each under the cell limit
    reach = references(chain)  # ~0.3 s here; a quadratic closure would take minutes
    assert len(reach["f0"]) == 19_999 and len(reach["f10"]) == 19_989
    huge_cell = "x = 1\n" * (breaker.MAX_CELL_CHARS // 6 + 1) + "def inside():\n    return f()"
    cells = references([huge_cell, "def after():\n    return inside()"])
    assert "inside" not in cells.direct and cells.get("after") == frozenset()
    assert "after" in cells.direct  # the cells after it are read
    cells_of = breaker.MAX_CELL_CHARS // 6
    big = ["x = 1\n" * cells_of] * (breaker.MAX_SOURCE_CHARS // (6 * cells_of) + 1)
    big.append("def late():\n    return 1")
    assert references(big).get("late") == frozenset() and "late" not in references(big).direct


def test_references_read_code_python_warns_about_and_say_nothing(recwarn):
    """Python's warnings about the student's code (invalid escapes, `is` with a literal) are the
    worker's to report; the grader's own parse keeps them off its stderr, and reads the code even
    where warnings are errors (`python -W error`), as a parse that raised would lose it."""
    import warnings

    cells = ['def f(x):\n    return "\\s" if x is 1 else g(x)\n', "def g(x):\n    return x"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert references(cells)["f"] == frozenset({"g"})
    assert len(recwarn) == 0


def test_methods_and_operators_are_shortened_but_never_given_up():
    """Methods are named without their class: one that hangs in one class must not stop a
    same-named method of another class from being called, so the breaker never gives them up.
    A function or class with the same two time-outs is given up."""
    from dlhw.autograder.breaker import Breaker, GivenUp

    breaker = Breaker(retry_timeout_s=1.0)
    for name in (".forward", "operator mul", "Model", "train"):
        runs = frozenset({name})
        assert breaker.limit(runs, 10.0) == (10.0, "")
        breaker.timed_out(runs, 10.0, 10.0)
        limit, why = breaker.limit(runs, 10.0)
        assert limit == 1.0 and "already ran past its limit (10 s" in why
        breaker.timed_out(runs, 1.0, 10.0)
        if name in ("Model", "train"):
            with pytest.raises(GivenUp, match=f"{name} did not return within 1 s"):
                breaker.limit(runs, 10.0)
        else:
            assert breaker.limit(runs, 10.0)[0] == 1.0  # still called, under the short limit


def test_the_worker_pipes_hold_a_mebibyte_so_large_arrays_cross_in_few_writes(session):
    session.run_cells([(0, "import numpy as np\ndef big():\n    return np.arange(300_000.0)")])
    worker = session._worker
    assert worker is not None
    for fd in (worker.channel.read_fd, worker.channel.write_fd):
        assert fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) >= 1 << 20
    assert np.array_equal(session.call("big", (), {})["value"], np.arange(300_000.0))


def test_no_user_namespaces_but_threads_processes_and_unix_sockets_work(session):
    # A new user namespace would make the sandbox uid root to much more of the kernel.
    session.run_cells(
        [
            (
                0,
                "import ctypes, os, socket, subprocess, threading\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "r = libc.unshare(0x10000000)\n"  # CLONE_NEWUSER
                "NEWUSER = (r, ctypes.get_errno())\n"
                "box = []\n"
                "t = threading.Thread(target=lambda: box.append(1)); t.start(); t.join()\n"
                "pid = os.fork()\n"
                "if pid == 0:\n    os._exit(7)\n"
                "_, status = os.waitpid(pid, 0)\n"
                "out = subprocess.run(['echo', 'hi'], capture_output=True, text=True).stdout\n"
                "a, b = socket.socketpair()\n"
                "a.send(b'x')\n"
                "def result():\n"
                "    return [list(NEWUSER), box, os.waitstatus_to_exitcode(status), out, b.recv(1).decode()]",
            )
        ]
    )
    assert session.reports[0].status == "ok", session.reports
    import errno

    assert Submission(session).result() == [[-1, errno.EPERM], [1], 7, "hi\n", "x"]


def test_a_worker_another_thread_is_starting_when_the_session_closes_does_not_outlive_it(
    monkeypatch,
):
    """grade() runs the cells in a thread; interrupted, the main thread closes the session while
    that thread may be starting a worker (a restart). The worker is either stopped by the close
    or never started: none may run on after it, unowned."""
    import threading

    session = Session(LIMITS)
    in_spawn, original = threading.Event(), Session._spawn
    started: list = []

    def slow_spawn(self):
        in_spawn.set()
        time.sleep(0.5)  # the close arrives meanwhile
        got = original(self)
        if got is not None:
            started.append(got[0])
        return got

    monkeypatch.setattr(Session, "_spawn", slow_spawn)
    failures: list = []

    def cells() -> None:
        try:
            session.run_cells([(0, "x = 1")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    thread = threading.Thread(target=cells)
    thread.start()
    assert in_spawn.wait(10)
    session.close()
    thread.join(10)
    assert not thread.is_alive() and not failures, failures
    for proc in started:
        assert proc.poll() is not None, "a worker started during the close outlived it"
    assert session._worker is None


def test_a_restart_the_notebook_made_impossible_is_its_failure_not_the_graders(session):
    """A cell that closes the worker's folder to its own uid, then ends the worker: no later
    worker can enter it. That follows the student's code: each later cell and call is the
    notebook's crash (and a request that got no answer), never a SandboxError that reads as
    the grader's broken installation ("the test could not complete") and escapes the rule that
    a test during which a request went unanswered never passes."""
    if os.geteuid() == 0 and not session.identity.isolated:
        pytest.skip("a worker that runs as root enters any folder")
    session.run_cells(
        [(0, "import os\nos.chmod(os.getcwd(), 0)\nos._exit(1)"), (1, "def f(x):\n    return x")]
    )
    if statuses(session) == ["crash", "ok"]:  # a worker that enters its folder before its uid
        assert Submission(session).f(1) == 1  # changes (no namespaces) is not stopped by this
        return
    assert statuses(session) == ["crash", "crash"]
    assert "could not be started again" in session.reports[1].message
    with pytest.raises(StudentError, match="could not be started again"):
        Submission(session).f(1)
    assert session.unanswered
    assert any("a restart of the worker failed" in n for n in session.notes)


def test_a_close_never_frees_the_pipes_another_thread_is_still_reading(monkeypatch):
    """Interrupted, grade() closes the session while the cells thread waits for a cell's reply.
    The close kills the worker and closes the worker's pipes; the cells thread, woken by the
    worker's end, may read only after that. Its pipe's number must not be freed under it (a
    read then fails with EBADF, or reads a file the close has opened meanwhile under the same
    number; a write there would put the cell's bytes in that file): the close waits for it."""
    import threading

    session = Session(LIMITS)
    original = Session._wait
    waiting = threading.Event()

    def late_wait(self, fd, writing, deadline, late):
        cells_thread = threading.current_thread() is not threading.main_thread() and not writing
        if cells_thread:
            waiting.set()
        original(self, fd, writing, deadline, late)
        if cells_thread:
            time.sleep(0.5)  # a cells thread slow to act once the pipe is ready (the GIL, load)

    failures: list = []

    def cells() -> None:
        try:
            session.run_cells([(0, "import time\ntime.sleep(30)"), (1, "x = 1")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    session.run_cells([(0, "y = 1")])  # the worker is up; the next cell's reply is waited for
    monkeypatch.setattr(Session, "_wait", late_wait)
    thread = threading.Thread(target=cells)
    thread.start()
    assert waiting.wait(10)
    time.sleep(0.2)  # in select(), for the sleeping cell's reply
    session.close()
    thread.join(10)
    assert not thread.is_alive() and not failures, failures
    assert [r.status for r in session.reports][1:] in (["crash", "budget"], ["budget"])


def test_a_hard_limit_inherited_below_the_workers_own_is_kept(tmp_path):
    """Raising a hard limit needs CAP_SYS_RESOURCE: under a shell's `ulimit -Hn 200` (below the
    worker's 256 open files) every run failed, "not allowed to raise maximum limit". The worker
    keeps the lower limit instead."""
    import json
    import resource
    import subprocess
    import sys

    from dlhw.autograder.homeworks import get_homework

    hw = get_homework("hw1")
    out = tmp_path / "results.json"

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    done = subprocess.run(
        [sys.executable, "-m", "dlhw.autograder.cli", "grade", "hw1", str(hw.master), "-o", str(out)],
        preexec_fn=lower, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    results = json.loads(out.read_text())
    assert "failed" not in results.get("output", ""), done.stdout + done.stderr
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
