"""Killing by uid without any kernel layer: it converges, the sandbox cannot signal the helper,
and busy or quarantined uids are never handed out (root only)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest

from dlhw.autograder import confinement, killing
from dlhw.autograder.confinement import (
    SANDBOX_UID_BASE,
    choose_identity,
    release_identity,
    release_uid,
    uid_in_use,
)
from dlhw.autograder.killing import QUARANTINED, converge, processes_of_uid

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or os.environ.get("DLHW_SANDBOX") == "same-user",
    reason="needs root (the uid sandbox)",
)


def _as(uid: int, code: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", code],
        user=uid, group=uid, extra_groups=[], stdin=subprocess.DEVNULL, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip


def _wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def uid() -> int:
    identity = choose_identity()
    assert identity.uid is not None
    # This process's children from before the test are spared, as a session spares them: with
    # none spared, the clean-up killed pytest's own, multiprocessing's resource tracker among
    # them ("resource_tracker: process died unexpectedly", in a later test of the suite).
    before = set(confinement.children_of(os.getpid()))
    yield identity.uid
    converge(identity.uid, before, None)
    release_identity(identity)


def test_a_process_that_hides_its_proc_folder_still_makes_its_uid_busy(uid: int) -> None:
    proc = _as(uid, "import ctypes, time\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\ntime.sleep(60)")
    try:
        # Non-dumpable: the files of /proc/<pid> now belong to root (on older kernels, its folder
        # too), so their owner alone would miss it.
        assert _wait_for(lambda: os.stat(f"/proc/{proc.pid}/status").st_uid == 0)
        assert uid_in_use(uid)
    finally:
        proc.kill()
        proc.wait()
    assert not uid_in_use(uid)


def test_busy_and_quarantined_uids_are_skipped(uid: int, monkeypatch: pytest.MonkeyPatch) -> None:
    free = next(u for u in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 100) if not uid_in_use(u))
    proc = _as(uid, "import time; time.sleep(60)")
    offsets = iter([uid - SANDBOX_UID_BASE, free - SANDBOX_UID_BASE])
    monkeypatch.setattr(random, "randrange", lambda n: next(offsets))
    try:
        assert _wait_for(lambda: uid_in_use(uid))
        assert choose_identity().uid == free  # the busy uid was drawn first
    finally:
        proc.kill()
        proc.wait()
        release_uid(free)
    QUARANTINED.add(uid)
    try:
        offsets = iter([uid - SANDBOX_UID_BASE, free - SANDBOX_UID_BASE])
        assert not uid_in_use(uid) and choose_identity().uid == free  # quarantined: never again
    finally:
        QUARANTINED.discard(uid)
        release_uid(free)


def _hold_in_another_process(uid: int) -> subprocess.Popen[str]:
    """A grading process of its own that reserved `uid` (and has not started its worker)."""
    code = (
        "import sys\nfrom dlhw.autograder import confinement\n"
        f"assert confinement._reserve(confinement._uid_lock_folder(), {uid})\n"
        "print('held', flush=True)\nsys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_uid_another_process_reserved_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two grading processes (a batch's jobs) that drew the same unused uid at once both took
    it: one's clean-up then killed the other's worker, and their code could ptrace each other.
    A uid is reserved (a lock the process holds, released at its end however it ends) before
    it is checked unused."""
    free = [u for u in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 200) if not uid_in_use(u)]
    taken, other = free[0], free[1]
    holder = _hold_in_another_process(taken)
    try:
        assert not uid_in_use(taken)  # no process of it yet: only the reservation says so
        offsets = iter([taken - SANDBOX_UID_BASE, other - SANDBOX_UID_BASE])
        monkeypatch.setattr(random, "randrange", lambda n: next(offsets))
        identity = choose_identity()
        assert identity.uid == other
        release_identity(identity)
    finally:
        holder.kill()
        holder.wait()
    # The holder ended without releasing: the kernel dropped its lock with it.
    offsets = iter([taken - SANDBOX_UID_BASE])
    identity = choose_identity()
    assert identity.uid == taken
    release_identity(identity)


def test_a_session_reserves_its_uid_until_it_is_closed() -> None:
    from dlhw.autograder.session import Session

    session = Session()
    uid = session.identity.uid
    assert uid is not None and uid in confinement._RESERVED
    holder = subprocess.run(
        [sys.executable, "-c", "from dlhw.autograder import confinement as c\n"
         f"print(c._reserve(c._uid_lock_folder(), {uid}))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert holder.stdout.strip() == "False"  # another process cannot have it meanwhile
    session.close()
    assert uid not in confinement._RESERVED


def test_the_uid_locks_live_only_in_a_folder_no_other_user_can_enter(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox cannot hold a lock (every uid taken: no run starts) or remove one: a folder
    that others may write or enter is passed over."""
    open_to_all = tmp_path / "open"
    open_to_all.mkdir(mode=0o777)
    os.chmod(open_to_all, 0o777)
    linked = tmp_path / "link"
    linked.symlink_to(tmp_path)
    private = tmp_path / "private"
    monkeypatch.setattr(
        confinement, "UID_LOCK_FOLDERS", (str(open_to_all), str(linked), str(private))
    )
    assert confinement._uid_lock_folder() == str(private)
    assert os.stat(private).st_mode & 0o777 == 0o700


def test_the_cleanup_helper_cannot_be_signalled_by_the_sandbox(uid: int) -> None:
    """The helper's effective uid is the sandbox's, its real and saved uids are not."""
    other = uid + 1 if uid + 1 not in QUARANTINED else uid + 2
    helper = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c",
         f"import os, time\nos.setgroups([])\nos.setresgid({other}, {other}, {other})\n"
         f"os.setresuid({other}, {uid}, {other})\ntime.sleep(60)"],
    )  # fmt: skip
    try:
        assert _wait_for(lambda: uid in killing._status_ids(str(helper.pid))[0])
        probe = _as(
            uid,
            f"import os, signal\nfor sig in (signal.SIGSTOP, signal.SIGKILL):\n"
            f"    try:\n        os.kill({helper.pid}, sig)\n        print('SENT')\n"
            f"    except PermissionError:\n        print('EPERM')",
            stdout=subprocess.PIPE,
        )
        out, _ = probe.communicate(timeout=20)
        assert out.split() == [b"EPERM", b"EPERM"]
        assert helper.poll() is None
    finally:
        helper.kill()
        helper.wait()


# Each link starts a session, forks the next and exits; stoppers SIGSTOP then SIGKILL every new
# process of the uid (what the old cleanup helper, run as that uid, was).
FIGHTERS = """
import os, time

def chain():
    while True:
        os.setsid()
        if os.fork():
            os._exit(0)

def stopper():
    mine = os.getuid()
    def ours():
        found = set()
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{p}/status") as f:
                    if int(next(l for l in f if l.startswith("Uid:")).split()[1]) == mine:
                        found.add(int(p))
            except (OSError, StopIteration, ValueError):
                pass
        return found
    known = ours()
    while True:
        for p in ours() - known:
            for sig in (19, 9):
                try:
                    os.kill(p, sig)
                except OSError:
                    pass

for target in (chain, chain, stopper, stopper):
    if os.fork() == 0:
        try:
            target()
        finally:
            os._exit(0)
time.sleep(60)
"""


def test_killing_by_uid_converges_against_chains_and_stoppers(uid: int) -> None:
    spared = set(confinement.children_of(os.getpid()))
    confinement.become_subreaper()
    proc = _as(uid, FIGHTERS, start_new_session=True)
    assert _wait_for(lambda: len(processes_of_uid(uid)) >= 5)
    time.sleep(0.5)  # let the chains run and the stoppers settle
    start = time.monotonic()
    killed, survivors = converge(uid, spared | {proc.pid}, None)
    elapsed = time.monotonic() - start
    proc.wait(timeout=10)
    assert survivors == [] and processes_of_uid(uid) == []
    assert killed >= 1 and elapsed < 5, (killed, elapsed)


def _live_tasks(uid: int) -> list[tuple[int, str]]:
    """(pid, tid) of every thread of the uid's processes that is not a zombie."""
    found = []
    for pid in processes_of_uid(uid):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b"Z", b"X"):
                found.append((pid, tid))
    return found


# A daemon whose main thread ends alone (the exit system call, not exit_group): its /proc/<pid>
# then reads "Z (zombie)" while its other thread runs on, unseen in /proc's listing.
ZOMBIE_LEADER = """
import ctypes, os, threading, time
if os.fork() == 0:
    os.setsid()
    threading.Thread(target=lambda: time.sleep(600)).start()
    ctypes.CDLL(None).syscall({'x86_64': 60, 'aarch64': 93}[os.uname().machine], 0)  # SYS_exit
time.sleep(60)
"""


def test_a_process_whose_main_thread_ended_is_killed_with_its_other_threads(uid: int) -> None:
    spared = set(confinement.children_of(os.getpid()))
    confinement.become_subreaper()
    proc = _as(uid, ZOMBIE_LEADER, start_new_session=True)
    try:
        assert _wait_for(lambda: any(pid != proc.pid for pid, _ in _live_tasks(uid)))
        proc.kill()  # as a session kills its worker before it looks for what is left
        proc.wait(timeout=10)
        killed, survivors = converge(uid, spared | {proc.pid}, None)
        assert _live_tasks(uid) == [] and survivors == [], (_live_tasks(uid), survivors)
        assert killed == 1
    finally:
        for pid in processes_of_uid(uid):
            killing.signal_if(pid, 9, lambda _: True)
        proc.wait(timeout=10)


def test_a_survivor_is_reported_loudly_and_its_uid_never_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dlhw.autograder.session as session_module

    real_reap = session_module.reap

    def reap_leaving_one(*args, **kwargs):  # type: ignore[no-untyped-def]
        killed, _ = real_reap(*args, **kwargs)
        return killed, [4_000_000]  # a pid no process has: the report, not a real survivor

    monkeypatch.setattr(session_module, "reap", reap_leaving_one)
    session = session_module.Session()
    session.run_cells([(0, "x = 1")])
    session.close()
    uid = session.identity.uid
    try:
        assert any("SURVIVED" in note and "4000000" in note for note in session.notes)
        assert uid in QUARANTINED
    finally:
        QUARANTINED.discard(uid)
