"""The worker's file allow-list (worker/landlock.py): in every mode, graded code opens only what
the grader lists, whatever the files' permissions, and cannot signal the grader."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from dlhw.autograder.confinement import Limits, worker_command, worker_file_access
from dlhw.autograder.homeworks import course_root, get_homework
from dlhw.autograder.session import Session
from dlhw.autograder.submission import StudentError, Submission
from dlhw.autograder.worker import landlock

LIMITS = Limits(call_timeout_s=5.0, cell_timeout_s=10.0, run_timeout_s=60.0)
ABI = landlock.abi_version()
needs_landlock = pytest.mark.skipif(ABI < 1, reason=f"no Landlock here: {os.strerror(-ABI)}")
ROOT = os.geteuid() == 0 and os.environ.get("DLHW_SANDBOX") != "same-user"
# The modes a grading run can be in here: with the kernel layers (namespaces, cgroups), without
# them (a container without CAP_SYS_ADMIN), and without a sandbox uid (not root: a student's
# `autograder check`, an instructor's laptop). Where the grader is not root, only the last.
MODES = ["default", "kernel layers off", "same user"] if ROOT else ["same user"]


@pytest.fixture(params=MODES)
def mode(request, monkeypatch):
    if request.param == "kernel layers off":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    if request.param == "same user":
        monkeypatch.setenv("DLHW_SANDBOX", "same-user")
    monkeypatch.delenv("DLHW_LANDLOCK", raising=False)
    return request.param


@pytest.fixture
def planted():
    """A folder outside the allow-list that every user may enter, list and write (/var/tmp
    is not on it: the machine's scratch folder), holding a file every user may read."""
    folder = Path(tempfile.mkdtemp(prefix="dlhw-planted-", dir="/var/tmp"))
    os.chmod(folder, 0o1777)
    (folder / "solution.txt").write_text("PLANTED SOLUTION")
    os.chmod(folder / "solution.txt", 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def opened(session: Session, what: str) -> Submission:
    session.run_cells([(0, f"import os\ndef attempt():\n    {what}\n    return 'opened'")])
    assert session.reports[0].status == "ok", session.reports
    return Submission(session)


@needs_landlock
@pytest.mark.parametrize(
    "target",
    ["the hidden tests", "a planted file", "another process's /proc entry", "the /proc listing"],
)
def test_graded_code_reads_nothing_outside_the_allow_list(mode, target, planted):
    # Without Landlock, each was readable in some mode: the hidden tests without a sandbox uid
    # (the grader's own user), the planted file and the grader's command line (the paths it
    # grades) without a private view.
    hidden = get_homework("hw1").hidden_tests
    path = {
        "the hidden tests": str(hidden[0]),
        "a planted file": str(planted / "solution.txt"),
        "another process's /proc entry": f"/proc/{os.getpid()}/cmdline",
        "the /proc listing": "/proc",
    }[target]
    read = f"os.listdir({path!r})" if path == "/proc" else f"open({path!r}).read()"
    with Session(LIMITS) as session:
        sub = opened(session, read)
        with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
            sub.attempt()


@needs_landlock
@pytest.mark.parametrize("where", ["a folder open to all", "/tmp", "the course root"])
def test_graded_code_writes_nothing_outside_its_folder(mode, where, planted):
    folder = {
        "a folder open to all": str(planted),
        "/tmp": "/tmp",
        "the course root": str(course_root()),
    }[where]
    name = os.path.join(folder, f"dlhw-landlock-{os.getpid()}")
    try:
        with Session(LIMITS) as session:
            sub = opened(session, f"open({name!r}, 'w').write('x')")
            if where == "/tmp" and mode == "default":
                sub.attempt()  # the view's own /tmp (next test): nothing reaches the machine's
            else:
                with pytest.raises(StudentError, match="PermissionError|FileNotFoundError|OSError"):
                    sub.attempt()
        assert not os.path.exists(name)
    finally:
        if os.path.exists(name):
            os.unlink(name)


@needs_landlock
def test_what_graded_code_needs_still_works(mode):
    cell = """
import multiprocessing, os, subprocess, sys, tempfile
import numpy as np

def everything(shared):
    fd, name = tempfile.mkstemp()  # TMPDIR: the worker's folder
    os.write(fd, b"x"); os.close(fd); os.rename(name, name + ".moved")
    os.makedirs("sub/deeper"); np.save("sub/deeper/a.npy", np.arange(3))
    with open("/dev/null", "w") as f:
        f.write("discarded")
    print("printed")
    lock = multiprocessing.Lock()  # its semaphore lives in /dev/shm
    with lock:
        pass
    with open("/proc/self/status") as f:
        own = f.read().startswith("Name:")
    return [
        int(np.load("sub/deeper/a.npy").sum()),
        len(os.urandom(8)),
        own,
        open(shared).read(),
        subprocess.run(["echo", "ran"], capture_output=True, text=True).stdout,
        __import__("gzip").compress(b"a")[:2] == b"\\x1f\\x8b",
    ]
"""
    with Session(LIMITS) as session:
        shared = session.share_file("data.txt", b"test data")
        session.run_cells([(0, cell)])
        assert session.reports[0].status == "ok", session.reports
        assert Submission(session).everything(shared) == [3, 8, True, "test data", "ran\n", True]
    # Once closed: until then the output is drained by a thread, and may not be read yet.
    assert "printed" in session.output()
    assert not any("Landlock" in note for note in session.notes), session.notes


@needs_landlock
def test_the_private_views_scratch_folders_stay_writable(mode):
    # In the private view /tmp, /var/tmp and /run/lock are the run's own tmpfs (view.SCRATCH):
    # the allow-list once left them out in every mode, so code that saved to /tmp (a correct
    # submission) failed with PermissionError where the kernel has Landlock and passed where it
    # has not. Without a view they are the machine's, shared with every user: still refused.
    cell = """
def scratch():
    done = []
    for folder in ("/tmp", "/var/tmp", "/run/lock"):
        try:
            with open(folder + "/dlhw-scratch.txt", "w") as f:
                f.write("x")
            done.append(open(folder + "/dlhw-scratch.txt").read())
        except OSError as exc:
            done.append(type(exc).__name__)
    return done
"""
    with Session(LIMITS) as session:
        session.run_cells([(0, cell)])
        assert session.reports[0].status == "ok", session.reports
        done = Submission(session).scratch()
    if mode == "default":
        assert done == ["x", "x", "x"]
    else:
        assert done == ["PermissionError"] * 3
    assert not any(os.path.exists(f"{d}/dlhw-scratch.txt") for d in ("/tmp", "/var/tmp"))


@pytest.mark.skipif(ABI < 6, reason=f"signals are scoped from Landlock ABI 6 (here: {ABI})")
def test_graded_code_cannot_signal_the_grader_even_as_its_user(monkeypatch):
    # Without a sandbox uid the worker is the grader's user: without Landlock, kill() reached
    # the grader (signal 0 here, to look; SIGKILL would have ended the run with no results).
    monkeypatch.setenv("DLHW_SANDBOX", "same-user")
    monkeypatch.delenv("DLHW_LANDLOCK", raising=False)
    with Session(LIMITS) as session:
        sub = opened(session, f"os.kill({os.getpid()}, 0)")
        with pytest.raises(StudentError, match="PermissionError"):
            sub.attempt()


def test_the_allow_list_holds_the_runs_folders_and_nothing_of_the_course(tmp_path):
    readable, writable = worker_file_access(tmp_path / "work", tmp_path / "shared")
    root = str(course_root())
    assert str(tmp_path / "shared") in readable and str(tmp_path / "work") in writable
    assert root not in readable + writable
    assert not any(root.startswith(p.rstrip("/") + "/") for p in readable + writable)
    assert not {"/tmp", "/var/tmp", "/run/lock", "/proc"} & set(readable + writable)
    # In the private view the scratch folders are the run's own tmpfs; nothing else changes.
    in_view = worker_file_access(tmp_path / "work", tmp_path / "shared", private_view=True)
    assert in_view == (readable, writable + ["/tmp", "/var/tmp", "/run/lock"])


def test_the_worker_is_told_its_allow_list_unless_it_is_turned_off(tmp_path, monkeypatch):
    monkeypatch.delenv("DLHW_LANDLOCK", raising=False)
    command = worker_command(3, 4, LIMITS, tmp_path, None)
    assert "--allow-list" in command and f"--write={tmp_path}" in command
    monkeypatch.setenv("DLHW_LANDLOCK", "off")
    assert not any(a.startswith(("--allow-list", "--read=", "--write=")) for a in
                   worker_command(3, 4, LIMITS, tmp_path, None))  # fmt: skip


def test_the_allow_list_turned_off_is_in_the_staff_notes(monkeypatch):
    # DLHW_LANDLOCK=off left the notes silent, where a kernel without Landlock is noted: without
    # a sandbox uid the allow-list is all that keeps graded code from the hidden tests.
    monkeypatch.setenv("DLHW_LANDLOCK", "off")
    with Session(LIMITS) as session:
        session.run_cells([(0, "x = 1")])
    assert "file allow-list (Landlock): off (DLHW_LANDLOCK=off)" in session.notes, session.notes


def test_a_kernel_without_landlock_is_reported_and_nothing_else_changes(monkeypatch):
    monkeypatch.setattr(landlock, "abi_version", lambda: -errno.ENOSYS)
    assert landlock.restrict(["/usr"], ["/tmp"]) == [
        f"file allow-list (Landlock) unavailable: {os.strerror(errno.ENOSYS)}"
    ]


def test_only_linux_is_asked(monkeypatch):
    monkeypatch.setattr(landlock.sys, "platform", "darwin")
    monkeypatch.setattr(landlock, "abi_version", lambda: pytest.fail("asked the kernel"))
    assert landlock.restrict(["/usr"], []) == [
        "file allow-list (Landlock) unavailable: darwin is not Linux"
    ]


@pytest.mark.parametrize(("abi", "said"), [(1, 4), (2, 3), (3, 2), (5, 1), (6, 0), (7, 0)])
def test_staff_are_told_what_an_older_landlock_leaves_open(abi, said):
    # The notes once named only signals, abstract sockets and TCP: before ABI 3 truncate() by
    # path reached any file the uid may write (the grader's, without a sandbox uid), and before
    # ABI 2 a rename between two folders of the worker's own failed with EXDEV.
    gaps = landlock.missing(abi)
    assert len(gaps) == said
    assert any("truncate" in g for g in gaps) == (abi < 3)
    assert any("EXDEV" in g for g in gaps) == (abi < 2)


@pytest.mark.parametrize(("abi", "extra"), [(1, 0), (2, 1 << 13), (3, 3 << 13), (5, 7 << 13)])
def test_only_the_rights_the_kernel_knows_are_handled(abi, extra):
    # A ruleset handling a right the kernel does not know is refused (EINVAL): all or nothing.
    assert landlock.handled_rights(abi) == (1 << 13) - 1 | extra


@needs_landlock
def test_missing_paths_are_left_out_and_files_get_a_files_rights():
    # A rule on a file holding a folder's rights (make, remove, list) is refused (EINVAL), which
    # would leave the whole list unapplied: /dev/null and the other devices are files.
    pid = os.fork()
    if pid == 0:  # the allow-list binds this process for good: a child applies it
        code = 1
        try:
            notes = landlock.restrict(["/usr", "/nonexistent/dlhw"], ["/dev/null"])
            code = 2 if any("not applied" in n or "unavailable" in n for n in notes) else 0
            with open("/dev/null", "w") as f:
                f.write("x")
            try:
                open("/etc/hostname").read()
                code = 3  # /etc is not on this list
            except PermissionError:
                pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.fixture
def service(tmp_path_factory):
    """A service of the machine listening on Unix sockets by path (as systemd's user manager,
    D-Bus, ssh-agent or Docker do), outside the allow-list, open to every user: a stream
    listener and a datagram receiver (as journald's and syslog's)."""
    folder = Path(tempfile.mkdtemp(prefix="dlhw-service-", dir="/var/tmp"))
    os.chmod(folder, 0o755)
    stream, datagram = (
        socket.socket(socket.AF_UNIX),
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM),
    )
    stream.bind(str(folder / "stream.sock"))
    datagram.bind(str(folder / "datagram.sock"))
    for sock in (stream, datagram):
        os.chmod(sock.getsockname(), 0o777)
        sock.setblocking(False)
    stream.listen(4)
    yield folder, stream, datagram
    stream.close()
    datagram.close()
    shutil.rmtree(folder, ignore_errors=True)


@needs_landlock
def test_graded_code_reaches_no_unix_socket_of_the_machine(mode, service):
    # Landlock does not confine connecting to a Unix socket by path: without a private view,
    # graded code reached every service whose socket its uid may write (with the grader's own
    # user: its systemd user manager, D-Bus session, ssh-agent, Docker), which then act outside
    # the allow-list on its behalf. socket(AF_UNIX) is refused now, and so are datagram pairs
    # (sendto() on one reaches any datagram socket by path); stream pairs still work.
    folder, stream, datagram = service
    cell = f"""
import multiprocessing, socket
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect({str(folder / "stream.sock")!r})
    s.sendall(b"from graded code")
def send():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.sendto(b"from graded code", {str(folder / "datagram.sock")!r})
def pairs():
    a, b = multiprocessing.Pipe()
    a.send([1, 2])
    c, d = socket.socketpair()
    c.sendall(b"x")
    return [b.recv(), d.recv(1).decode()]
"""
    with Session(LIMITS) as session:
        session.run_cells([(0, cell)])
        assert session.reports[0].status == "ok", session.reports
        sub = Submission(session)
        for attempt in (sub.connect, sub.send):  # with a private view: not even there
            with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):
                attempt()
        assert sub.pairs() == [[1, 2], "x"]
    with pytest.raises(BlockingIOError):
        stream.accept()
    with pytest.raises(BlockingIOError):
        datagram.recv(100)


def test_graded_code_cannot_change_the_graders_limits_or_priority_even_as_its_user(
    monkeypatch,
):
    # Without a sandbox uid the worker is the grader's user, and Landlock scopes signals but
    # not these: resource.prlimit(grader, RLIMIT_CPU, (1, 1)) had the kernel kill the grader
    # (no results.json; in a batch, every later submission), and the others starve or pin it.
    # Each call here would change nothing (the grader's own values), but none is let through.
    monkeypatch.setenv("DLHW_SANDBOX", "same-user")
    monkeypatch.delenv("DLHW_LANDLOCK", raising=False)
    grader = os.getpid()
    cell = f"""
import os, resource
def limits():
    resource.prlimit({grader}, resource.RLIMIT_CORE, resource.prlimit({grader}, resource.RLIMIT_CORE))
def priority():
    os.setpriority(os.PRIO_PROCESS, {grader}, os.getpriority(os.PRIO_PROCESS, {grader}))
def affinity():
    os.sched_setaffinity({grader}, os.sched_getaffinity({grader}))
def scheduler():
    os.sched_setscheduler({grader}, os.SCHED_OTHER, os.sched_param(0))
def own():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(1)
    os.sched_setaffinity(0, os.sched_getaffinity(0))
    return resource.getrlimit(resource.RLIMIT_CORE)
"""
    with Session(LIMITS) as session:
        session.run_cells([(0, cell)])
        assert session.reports[0].status == "ok", session.reports
        sub = Submission(session)
        for attempt in (sub.limits, sub.priority, sub.affinity, sub.scheduler):
            with pytest.raises(StudentError, match="PermissionError"):
                attempt()
        assert sub.own() == (0, 0)


def test_without_a_sandbox_uid_graded_code_changes_no_files_metadata(monkeypatch, planted):
    # Landlock confines opening files, not chmod, chown, utime or extended attributes: as the
    # grader's own user, graded code changed the modes of the grader's files (a course's
    # solutions opened to every user, its grader closed to itself; as root, a setuid binary).
    # They now succeed without doing anything, so that shutil.copy works as anywhere else.
    monkeypatch.setenv("DLHW_SANDBOX", "same-user")
    monkeypatch.delenv("DLHW_LANDLOCK", raising=False)
    victim = planted / "solution.txt"
    before = os.stat(victim)
    cell = f"""
import os, shutil
def tamper():
    os.chmod({str(victim)!r}, 0o777)
    os.utime({str(victim)!r}, (0, 0))
    os.chown({str(victim)!r}, os.getuid(), os.getgid())
    try:
        os.setxattr({str(victim)!r}, "user.dlhw", b"x")
    except OSError as exc:  # a file system without user attributes
        return exc.errno
def copies():
    open("a.txt", "w").write("kept")
    shutil.copy2("a.txt", "b.txt")
    return open("b.txt").read()
"""
    with Session(LIMITS) as session:
        session.run_cells([(0, cell)])
        assert session.reports[0].status == "ok", session.reports
        sub = Submission(session)
        assert sub.tamper() in (None, errno.ENOTSUP)
        assert sub.copies() == "kept"
    after = os.stat(victim)
    assert (after.st_mode, after.st_mtime_ns, after.st_uid) == (
        before.st_mode, before.st_mtime_ns, before.st_uid
    )  # fmt: skip
    assert "user.dlhw" not in os.listxattr(victim)


@pytest.mark.skipif(os.geteuid() != 0, reason="a worker runs as root only when the grader does")
def test_a_worker_that_runs_as_root_has_no_capabilities(monkeypatch):
    # DLHW_SANDBOX=same-user as root: with its capabilities the worker could load a kernel
    # module from a file it wrote, or open any file by handle (CAP_DAC_READ_SEARCH).
    monkeypatch.setenv("DLHW_SANDBOX", "same-user")
    cell = """
def capabilities():
    return {line.split(":")[0]: int(line.split()[1], 16) for line in open("/proc/self/status")
            if line.startswith("Cap")}
"""
    with Session(LIMITS) as session:
        session.run_cells([(0, cell)])
        assert session.reports[0].status == "ok", session.reports
        assert Submission(session).capabilities() == dict.fromkeys(
            ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"], 0
        )
        assert not any("capabilities" in note for note in session.notes), session.notes
