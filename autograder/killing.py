"""Killing what a submission left running, until nothing is left, and saying so when something is.

Nothing here depends on a process the sandbox can signal, stop or trace:

- by uid (root, the fallback when there is no cgroup and no PID namespace): the grader SIGKILLs
  every process whose real, effective, saved or filesystem uid is the sandbox's, through a pidfd
  (never a recycled pid), then runs `kill(-1, SIGKILL)` from a short-lived helper whose effective
  uid is the sandbox's but whose real and saved uids are another unused uid: the kernel lets it
  signal every process of the sandbox uid, atomically with respect to fork() (a process forking
  meanwhile either is killed too or fails to fork), while the sandbox, whose uid is none of the
  helper's real or saved uid, cannot signal, stop or trace it;
- by descent (always; the only layer without root): orphans re-parent to the grader, a child
  subreaper; each pass stops then kills every descendant that is not one of the grader's own;
- verification: passes repeat until none is left or a deadline passes; what is still there is
  returned, for the staff log, and its uid is never used again by this grader (`quarantine`).
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from dlhw.autograder.cgroups import Cgroup

QUARANTINED: set[int] = set()  # uids that had a survivor: never handed out again


def read_proc(path: str) -> str:
    """A /proc file as text. Bytes that are not UTF-8 are replaced: a process names itself
    (`/proc/self/comm`, `prctl`) with any bytes, and that name is in its `stat` and `status`,
    which every scan here reads (strict decoding let a submission's process name break the
    scans of every other run on the machine, such as another student's in a batch). Raises
    OSError like `open`; faster than pathlib (these scans read every process's files)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _status_ids(pid: str) -> tuple[set[int], set[int]]:
    """(uids, gids) of a process: real, effective, saved and filesystem."""
    uids: set[int] = set()
    gids: set[int] = set()
    try:
        status = read_proc(f"/proc/{pid}/status")
    except OSError:
        return uids, gids
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uids = {int(u) for u in line.split()[1:]}
        elif line.startswith("Gid:"):
            gids = {int(g) for g in line.split()[1:]}
            break
    return uids, gids


def processes_of_uid(uid: int) -> list[int]:
    """Every process with `uid` as any of its uids or gids (a process that made itself
    non-dumpable has its /proc files, and on older kernels its /proc folder, owned by root:
    their owner alone would miss it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            uids, gids = _status_ids(entry)
            if uid in uids or uid in gids:
                found.append(int(entry))
    return found


def _parents() -> dict[int, int]:
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = read_proc(f"/proc/{entry}/stat").rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parent_of[int(entry)] = int(fields[1])
    return parent_of


def descendants_of(pid: int, spared: set[int] = frozenset()) -> set[int]:  # type: ignore[assignment]
    """Every process below `pid` (children, their children, ...), but `spared` and theirs."""
    parent_of = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parent_of.items() if parent in frontier} - found - spared
        found |= frontier
    return found


def _parent(pid: int) -> int:
    try:
        return int(read_proc(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def signal_if(pid: int, sig: int, still: Callable[[int], bool]) -> bool:
    """Send `sig` to `pid` if `still(pid)` holds once the pid is pinned by a pidfd."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if still(pid):
            signal.pidfd_send_signal(pidfd, sig)
            return True
    except OSError:
        pass
    finally:
        os.close(pidfd)
    return False


def kill_uid_as_other(uid: int, gid: int) -> None:
    """kill(-1, SIGKILL) with effective uid `uid` from a helper the sandbox cannot signal."""
    _as_sandbox(uid, "try:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\n")


# Run by a helper with the sandbox's effective uid: removes the System V IPC objects it owns or
# created (IPC_RMID needs that, or CAP_SYS_ADMIN, which containers drop); prints the count.
_REMOVE_IPC = """
import ctypes, sys
uid = int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
rmid = {"shm": lambda i: libc.shmctl(i, 0, None), "sem": lambda i: libc.semctl(i, 0, 0),
        "msg": lambda i: libc.msgctl(i, 0, None)}
removed = 0
for kind, remove in rmid.items():
    try:
        header, *rows = open(f"/proc/sysvipc/{kind}").read().splitlines()
    except OSError:
        continue
    for row in rows:
        fields = dict(zip(header.split(), row.split()))
        if uid in (int(fields.get("uid", -1)), int(fields.get("cuid", -1))):
            removed += remove(int(row.split()[1])) == 0
print(removed)
"""


def remove_ipc_as_owner(uid: int) -> int:
    """Remove the IPC objects of `uid` with its effective uid, from a helper the sandbox cannot
    signal (its real and saved uids are another unused uid); returns the count."""
    return int(_as_sandbox(uid, _REMOVE_IPC) or 0)


def _as_sandbox(uid: int, body: str) -> str:
    from dlhw.autograder.confinement import release_uid, reserve_unused_uid

    helper = reserve_unused_uid(avoid={uid})
    try:
        return _run_as(helper, uid, body)
    finally:
        release_uid(helper)


def _run_as(helper: int, uid: int, body: str) -> str:
    code = (
        "import os, sys\n"
        "h, u = int(sys.argv[1]), int(sys.argv[2])\n"
        "os.setgroups([])\n"
        "os.setresgid(h, h, h)\n"
        "os.setresuid(h, u, h)\n"
    ) + body
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code, str(helper), str(uid)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env={}, timeout=10,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def kill_now(uid: int | None, group: Cgroup | None) -> None:
    """Kill everything of the sandbox at once, from any thread (the run budget's watchdog): the
    cgroup, every process of the uid. Reaps nothing (the main thread may be waiting for one)."""
    if group is not None:
        group.kill(timeout=2.0)
    if uid is None:
        return
    of_uid = functools.partial(_still_ours, tree=set(), uid=uid, spared=set())
    for pid in processes_of_uid(uid):
        signal_if(pid, signal.SIGKILL, of_uid)
    if processes_of_uid(uid):
        kill_uid_as_other(uid, uid)


def _reap_children(spared: set[int]) -> None:
    """Collect our zombies (orphans of the sandbox re-parent to us, the subreaper)."""
    me = os.getpid()
    for pid, parent in _parents().items():
        if parent == me and pid not in spared and _is_zombie(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def converge(
    uid: int | None, spared: set[int], group: Cgroup | None, timeout: float = 10.0
) -> tuple[int, list[int]]:
    """Kill the sandbox's processes until none is left: (how many were found alive, survivors).

    `spared` are our own children that are not the sandbox's (never touched, nor theirs)."""
    me = os.getpid()
    deadline = time.monotonic() + timeout
    signalled: set[int] = set()
    confirmed = uid is None or group is not None
    while True:
        if group is not None:
            group.kill(timeout=max(deadline - time.monotonic(), 0.1))
        mine = descendants_of(me, spared)
        theirs = set(processes_of_uid(uid)) if uid is not None else set()
        alive = sorted(p for p in mine | theirs if not _is_zombie(p))
        if not alive and not confirmed:
            # A listing of /proc can miss a process forked while it was read (its pid wrapped
            # below the listing's position): a setsid chain forking as fast as it can outlived a
            # converge now and then. Without a cgroup, whose member list has no such gap, one
            # kill(-1) as the uid reaches every process of it, listed or not; then look again.
            kill_uid_as_other(uid, uid)  # type: ignore[arg-type]
            confirmed = True
            continue
        if not alive:
            break
        if time.monotonic() > deadline:
            return len(signalled), alive
        still = functools.partial(_still_ours, tree=mine | {me}, uid=uid, spared=spared)
        for pid in mine:  # stop first (a stopped process cannot fork), then kill
            signal_if(pid, signal.SIGSTOP, still)
        for pid in alive:
            signal_if(pid, signal.SIGKILL, still)
        signalled |= set(alive)  # each was killed by this pass, the cgroup's or kill(-1)
        if uid is not None and processes_of_uid(uid):
            kill_uid_as_other(uid, uid)
        _reap_children(spared)
        time.sleep(0.005)
    _reap_children(spared)
    return len(signalled), []


def _still_ours(pid: int, *, tree: set[int], uid: int | None, spared: set[int]) -> bool:
    """Checked once `pid` is pinned by a pidfd: a child of the tree, or a process of the uid."""
    if pid in spared:
        return False
    if _parent(pid) in tree:
        return True
    uids, gids = _status_ids(str(pid)) if uid is not None else (set(), set())
    return uid in uids or uid in gids


def _is_zombie(pid: int) -> bool:
    """Ended, or waiting to be reaped, every thread of it: a process whose main thread alone
    ended (the exit system call, not exit_group) reads "Z" in its own stat while its other
    threads run on, unseen in /proc's listing; it is alive, and is killed as one."""
    if not _ended(f"/proc/{pid}/stat"):
        return False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True  # gone
    return all(_ended(f"/proc/{pid}/task/{tid}/stat") for tid in tids)


def _ended(stat: str) -> bool:
    try:
        state = read_proc(stat).rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # gone
    return state in ("Z", "X")
