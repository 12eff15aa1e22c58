"""The fork server of a batch job (forkserver.py): a forked worker is confined exactly as an exec'd
one, its process is reported and killed as the keeper's was, and a server that is gone changes
nothing but speed. The rest of the isolation tests run with a fork server too
(`pytest --fork-server`, in `make test`)."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest

from dlhw.autograder import forkserver
from dlhw.autograder.confinement import (
    Limits,
    kernel_layers_off,
    sandbox_uid_wanted,
    start_fork_server,
)
from dlhw.autograder.session import Session
from dlhw.autograder.view import namespaces_unavailable

pytestmark = pytest.mark.skipif(
    bool(namespaces_unavailable()) or not sandbox_uid_wanted() or kernel_layers_off(),
    reason="the fork server is used with namespaces only (root, a sandbox uid)",
)

LIMITS = Limits(call_timeout_s=2.0, cell_timeout_s=2.0, run_timeout_s=60.0)

# Everything a submission could look at to tell how it was started, or use to get further.
PROBE = r"""
import ctypes, json, os, resource, sys
libc = ctypes.CDLL(None)
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\t" in line)
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
limits = {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource)
          if name.startswith("RLIMIT_")}
old_umask = os.umask(0o22); os.umask(old_umask)
def listing(path):  # refused outside the file allow-list (Landlock): the same either way
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__
PROBED = json.dumps({
    "ids": [os.getresuid(), os.getresgid(), os.getgroups()],
    "caps": [status[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
    "no_new_privs": status["NoNewPrivs"], "seccomp": status["Seccomp"],
    "dumpable": libc.prctl(3, 0, 0, 0, 0),
    "fds": fds[:-1], "fd_targets": [os.readlink(f"/proc/self/fd/{fd}")[:6] for fd in fds[:3]],
    "pid": os.getpid(), "ppid": os.getppid(), "sid_is_pid": os.getsid(0) == os.getpid(),
    "cwd": os.getcwd(), "environ": dict(os.environ),
    "proc_environ_readable": os.access("/proc/self/environ", os.R_OK),
    "limits": limits, "umask": old_umask, "root": listing("/"), "var": listing("/var"),
    "path": sys.path, "flags": list(sys.flags), "argv": sys.argv[1:],
    "stdout": [sys.stdout.encoding, sys.stdout.line_buffering, sys.stdout.write_through],
    "signals": [str(signal) for signal in (
        __import__("signal").getsignal(2), __import__("signal").getsignal(13),
        __import__("signal").getsignal(15))],
    "numpy_random_loaded": "numpy.random" in sys.modules,
    "grader_modules": sorted(m for m in sys.modules if m.startswith(("dlhw", "pytest", "_pytest"))),
})
def probe():
    return PROBED
"""


@pytest.fixture
def server():
    """A server of the test's own (the run's, if it has one, is put back afterwards)."""
    runs = forkserver._current
    forkserver._current = None
    note = start_fork_server()
    assert note == "fork server: started", note
    yield forkserver.current()
    forkserver.disable()
    forkserver._current = runs


def probe(workdir_token: str = "WORKDIR") -> dict:
    with Session(LIMITS) as s:
        s.run_cells([(0, PROBE)])
        assert s.reports[0].status == "ok", s.reports
        seen = json.loads(s.call("probe", [], {})["value"])
        forked = isinstance(s._worker.proc, forkserver.Forked)
        shared = str(s.shared_dir)  # the test data's folder, on its allow-list (argv)
    text = json.dumps(seen).replace(str(s.workdir), workdir_token).replace(shared, "SHARED")
    text = re.sub(r"\b6[0-4]\d{3}\b", '"UID"', text)  # the sandbox uid differs from run to run
    seen = json.loads(text)
    seen["forked"] = forked
    return seen


def test_a_forked_worker_is_confined_exactly_as_an_exec_d_one(server):
    forked = probe()
    forkserver.disable()
    execd = probe()
    assert forked.pop("forked") and not execd.pop("forked")
    forked_modules, execd_modules = forked.pop("grader_modules"), execd.pop("grader_modules")
    # The server imports numpy.random for its workers (forkserver.PRELOADED); see the next test.
    assert forked.pop("numpy_random_loaded") and not execd.pop("numpy_random_loaded")
    # The channel's descriptors: 3 and 4 when forked, the grader's numbers when exec'd.
    assert len(execd.pop("fds")) == 5 and forked.pop("fds") == [0, 1, 2, 3, 4]
    forked_argv, execd_argv = forked.pop("argv"), execd.pop("argv")
    assert forked_argv[:4] == ["--read-fd", "3", "--write-fd", "4"]
    assert forked_argv[4:] == execd_argv[4:]
    assert forked == execd
    # Of the grader's modules, only jail.py (the keeper's code) is there besides the worker's.
    assert set(forked_modules) - set(execd_modules) == {"dlhw.autograder.jail"}
    assert not any(m.startswith(("pytest", "_pytest")) for m in forked_modules)
    # What the probe saw is what confinement promises (not merely the same twice).
    assert forked["ids"][0] == ["UID"] * 3 and forked["ids"][2] == []
    assert set(forked["caps"][1:3]) == {"0000000000000000"}
    assert forked["seccomp"].strip() == "2" and forked["no_new_privs"].strip() == "1"
    assert forked["pid"] == 2 and forked["sid_is_pid"]
    assert forked["cwd"] == "WORKDIR" and forked["environ"]["HOME"] == "WORKDIR"


def test_forked_workers_do_not_share_numpy_s_global_random_state(server):
    """numpy.random is imported by the server, which seeds its global generator once: unseeded
    draws (`np.random.rand`, `np.random.randn`) must still differ from worker to worker, as they
    do between exec'd ones, and so must Python's `random` and a `default_rng()`."""
    cell = "import numpy as np, random\ndef draws():\n    return [float(np.random.rand()), random.random(), float(np.random.default_rng().random())]"
    seen = []
    for _ in range(3):
        with Session(LIMITS) as s:
            s.run_cells([(0, cell)])
            assert isinstance(s._worker.proc, forkserver.Forked)
            seen.append(s.call("draws", [], {})["value"])
    for column in zip(*seen, strict=True):
        assert len(set(column)) == 3, seen


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "segmentation fault"),
        ("import os\nos._exit(7)", "exited with status 7"),
        ("import sys\nsys.exit(0)", None),  # SystemExit in a cell is an exception, not an exit
    ],
)
def test_how_a_forked_worker_ended_is_reported_as_before(server, cell, words):
    with Session(LIMITS) as s:
        s.run_cells([(0, cell), (1, "x = 1")])
        assert isinstance(s._worker.proc, forkserver.Forked)
        first = s.reports[0]
        if words is None:
            assert first.status == "error" and "SystemExit" in first.message
        else:
            assert words in first.message, first
        assert s.reports[1].status == "ok"  # a new worker, forked again, ran the next cell


def test_a_hung_forked_worker_is_killed_and_what_it_started_dies_with_it(server):
    with Session(LIMITS) as s:
        s.run_cells(
            [
                (0, "import subprocess\np = subprocess.Popen(['sleep', '300'], start_new_session=True)"),
                (1, "while True: pass"),
                (2, "y = 2"),
            ]
        )  # fmt: skip
        assert [r.status for r in s.reports] == ["ok", "timeout", "ok"]
        keeper = s._worker.proc
    assert keeper.returncode == -signal.SIGKILL  # reaped by the server, its status collected
    assert s.survivors == []


def test_a_server_that_is_gone_leaves_workers_exec_d_as_before(server):
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    with Session(LIMITS) as s:
        s.run_cells([(0, "x = 1")])
        assert s.reports[0].status == "ok"
        assert not isinstance(s._worker.proc, forkserver.Forked)
    assert forkserver.current() is None


def test_the_server_ends_with_its_job_and_kills_what_it_forked(server):
    s = Session(LIMITS)
    s.run_cells([(0, "x = 1")])
    keeper = s._worker.proc
    server.close()  # as when the job ends: the server kills its keepers
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{keeper.pid}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{keeper.pid}")
    s.close()  # the session's own cleanup still runs
    assert s.survivors == []


@pytest.mark.skipif(
    os.environ.get("DLHW_TEST_FORK_SERVER") != "1", reason="only in runs with a fork server"
)
def test_a_run_with_a_fork_server_forks_every_worker():
    # The other tests of such a run (make test) check isolation with forked workers: they are.
    with Session(LIMITS) as s:
        s.run_cells([(0, "x = 1")])
        assert isinstance(s._worker.proc, forkserver.Forked)


# What the server's imports cached of the grader's filesystem: the import system keeps, per folder
# it searched (sys.path, package paths such as the course root, a folder of the `dlhw` namespace
# package), the names in it. Read on the host, before any view, those are names the view hides
# (the course root's solutions/, tests/, .git; the folder holding the course).
CACHED_LISTINGS = r"""
import os, sys
def hidden_names():
    hidden = {}
    for path, finder in sys.path_importer_cache.items():
        cached = set(getattr(finder, "_path_cache", None) or ())
        try:
            visible = set(os.listdir(path))
        except OSError:
            visible = set()
        if cached - visible:
            hidden[path] = sorted(cached - visible)
    return repr(hidden)
"""


def test_a_forked_worker_finds_no_listing_of_folders_its_view_hides(server):
    with Session(LIMITS) as s:
        s.run_cells([(0, CACHED_LISTINGS)])
        assert isinstance(s._worker.proc, forkserver.Forked)
        assert s.call("hidden_names", [], {})["value"] == "{}"


ECHO = "def echo(x):\n    return x"


def echoes(s: Session) -> list:
    return [s.call("echo", [i], {}).get("value") for i in range(5)]


def wake(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def test_a_server_that_stops_answering_is_ended_before_the_worker_is_exec_d(server, monkeypatch):
    # Left running, it would fork a keeper for the request it did not answer, on the channel of
    # the worker exec'd instead: two workers on one channel, replies answering other requests.
    monkeypatch.setattr(forkserver, "REPLY_TIMEOUT_S", 1.0)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        with Session(LIMITS) as s:
            s.run_cells([(0, ECHO)])
            assert not isinstance(s._worker.proc, forkserver.Forked)
            wake(server.proc.pid)
            time.sleep(1.0)  # long enough for a keeper forked now to greet on that channel
            assert echoes(s) == list(range(5))
            assert [r.status for r in s.reports] == ["ok"]
    finally:
        wake(server.proc.pid)
    assert server.proc.poll() is not None and forkserver.current() is None


def test_a_keeper_forked_for_a_lost_answer_leaves_nothing_on_the_next_worker_s_channel(
    server, monkeypatch
):
    # The server forked a keeper, whose worker greeted on its channel, then died before its
    # answer arrived: the worker exec'd instead gets new pipes, not that greeting.
    real = forkserver.ForkServer._receive

    def lost(self, timeout):
        message, fds = real(self, timeout)
        if message[0] == "forked":
            time.sleep(1.5)  # the forked worker greets meanwhile
            for fd in fds:
                os.close(fd)
            raise self._fail("the answer was lost")
        return message, fds

    monkeypatch.setattr(forkserver.ForkServer, "_receive", lost)
    with Session(LIMITS) as s:
        s.run_cells([(0, ECHO)])
        assert not isinstance(s._worker.proc, forkserver.Forked)
        assert echoes(s) == list(range(5))
        assert [r.status for r in s.reports] == ["ok"]
    assert s.survivors == []


def test_a_fork_that_fails_in_the_server_leaves_it_serving(server):
    # fork() fails there (EAGAIN: here its pids cgroup is full; a container's pids limit, memory):
    # that worker is exec'd, the server lives on, the next worker is forked again.
    pids = "/sys/fs/cgroup/pids"
    if not os.path.isdir(pids):
        pytest.skip("no cgroup v1 pids controller")
    group = f"{pids}/dlhw-test-forkserver-{os.getpid()}"
    os.mkdir(group)
    before = open(f"/proc/{server.proc.pid}/cgroup").read()
    home = next(line.split(":", 2)[2] for line in before.splitlines() if ":pids:" in line)
    try:
        with open(f"{group}/pids.max", "w") as f:
            f.write("1")
        with open(f"{group}/cgroup.procs", "w") as f:
            f.write(str(server.proc.pid))
        with Session(LIMITS) as s:
            s.run_cells([(0, ECHO)])
            assert not isinstance(s._worker.proc, forkserver.Forked)
            assert echoes(s) == list(range(5))
    finally:
        with open(f"{pids}{home.rstrip('/')}/cgroup.procs", "w") as f:
            f.write(str(server.proc.pid))
        os.rmdir(group)
    assert forkserver.current() is server
    with Session(LIMITS) as s:
        s.run_cells([(0, ECHO)])
        assert isinstance(s._worker.proc, forkserver.Forked)
        assert echoes(s) == list(range(5))


def test_the_job_holds_its_pidfds_close_on_exec_and_asks_nothing_twice(server):
    with Session(LIMITS) as s:
        s.run_cells([(0, "x = 1")])
        keeper = s._worker.proc
        assert isinstance(keeper, forkserver.Forked)
        assert not os.get_inheritable(keeper.pidfd)  # no later child of the job inherits it
        pid = keeper.pid
    assert keeper.returncode == -signal.SIGKILL and keeper.poll() == keeper.wait() == -9
    # A status asked for a process the server has already reaped is not taken for one.
    with pytest.raises(forkserver.ForkServerGone):
        server.wait_status(pid)


def test_a_server_that_dies_mid_run_costs_the_submission_nothing(server):
    # Killed (by the OOM killer, say), it takes its keepers along: the request that finds the
    # worker gone runs again on an exec'd one, not counted as the submission's crash or restart.
    with Session(LIMITS) as s:
        s.run_cells([(0, ECHO)])
        assert isinstance(s._worker.proc, forkserver.Forked)
        os.kill(server.proc.pid, signal.SIGKILL)
        time.sleep(0.2)
        assert echoes(s) == list(range(5))
        s.run_cells([(1, "y = echo(1)")])
        assert [r.status for r in s.reports] == ["ok", "ok"]
        assert s.restarts == 0 and not s.unanswered
        assert not isinstance(s._worker.proc, forkserver.Forked)
    assert s.survivors == []


def test_a_server_that_dies_while_a_worker_starts_leaves_the_run_its_namespaces(
    server, monkeypatch
):
    # The first start's failure is read as "this machine cannot build the view", and the run
    # is graded without namespaces: not when it was the fork server that died.
    real = forkserver.ForkServer.spawn

    def spawn_then_die(self, *args):
        forked = real(self, *args)
        os.kill(self.proc.pid, signal.SIGKILL)
        return forked

    monkeypatch.setattr(forkserver.ForkServer, "spawn", spawn_then_die)
    with Session(LIMITS) as s:
        s.run_cells([(0, ECHO)])
        assert echoes(s) == list(range(5))
        assert s.jail.root is not None and not any("FAILED" in n for n in s.notes), s.notes
        assert s.restarts == 0


def test_a_request_interrupted_before_its_answer_ends_the_server(server):
    # A batch job stopped at once (Ctrl-C twice: KeyboardInterrupt from its SIGTERM handler)
    # while it waits for an answer: that answer would be read as the next request's (a keeper
    # forked for the interrupted start taken for the next one's), so the server goes.
    os.kill(server.proc.pid, signal.SIGSTOP)

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            server.wait_status(os.getpid())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        wake(server.proc.pid)
    assert server.gone and server.proc.poll() is not None
    with Session(LIMITS) as s:
        s.run_cells([(0, ECHO)])
        assert echoes(s) == list(range(5))
