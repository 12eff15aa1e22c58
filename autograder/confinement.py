"""Confinement of the untrusted worker: identity, resource limits, network filter, leftover cleanup.

The trusted side calls `spawn_worker` and, at the end, `reap`; the worker calls `confine_self`
at start-up, before it reads any student code. What each layer relies on:

- identity: when the grader runs as root, the worker runs as a fresh unprivileged uid/gid
  (one per grading run, no supplementary groups). Files the grader keeps private (hidden tests,
  reference solutions, results) are then unreadable and unwritable to it. Without root, the
  worker runs as the grader's own user and this layer is absent (documented in docs/isolation.md).
- limits (setrlimit): address space, CPU seconds, processes, file size, open files, no core dumps.
- network: a seccomp filter makes socket() fail for every family, AF_UNIX included (only stream
  socketpairs), blocks io_uring and the system calls of other ABIs (i386 `int 0x80`, x32), and
  keeps prlimit, setpriority, ioprio_set and sched_set* to the calling process.
- files: in every mode, the worker confines itself to an allow-list with Landlock where the kernel
  has it (`worker_file_access`, worker/landlock.py): the view's read-only folders and the test
  data to read, its own folder to write; signals and abstract sockets stay inside its tree.
- kernel layers (root; `kernel_layers`, off with DLHW_KERNEL_LAYERS=off): namespaces and a
  default-deny view of the filesystem (jail.py, view.py), one cgroup per run (cgroups.py).
- process lifetime: the worker leads its own session; at the end the run's cgroup and PID
  namespace are killed, every process of the sandbox uid is killed (root, killing.py), and
  orphans re-parented to the grader, which is a child subreaper, are killed too, until none is
  left; survivors are reported and their uid never reused.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from dlhw.autograder import cgroups, forkserver
from dlhw.autograder.cgroups import Cgroup
from dlhw.autograder.jail import encode_config
from dlhw.autograder.killing import converge, remove_ipc_as_owner
from dlhw.autograder.view import (
    ABSENT_PACKAGES,
    DENIED_PACKAGES,
    JAIL,
    SCRATCH,
    allowed_read_only,
    jail_config,
    namespaces_unavailable,
)

Process: TypeAlias = "subprocess.Popen[bytes] | forkserver.Forked"  # a worker, or its keeper

SANDBOX_UID_BASE = 61_000
SANDBOX_UID_SPAN = 4_000
SCRATCH_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one grading run; defaults fit Gradescope's 768 MB, 10-minute default."""

    call_timeout_s: float = 10.0  # one call of a student function
    # A later call of a function (method, class, operator) that already ran past its limit once
    # in this run, or of one whose code names it: it still runs, under a tenth of its limit but
    # at least this; a function that then runs past this too is not called again (breaker.py).
    retry_timeout_s: float = 1.0
    cell_timeout_s: float = 30.0  # one notebook cell
    run_timeout_s: float = 300.0  # the whole grading run
    memory_bytes: int = (
        512 * 2**20
    )  # heap and anonymous memory (RLIMIT_DATA) of each worker process
    max_processes: int = 64  # processes and threads of the sandbox uid
    # every process of the submission together, with its private scratch (tmpfs), where the run
    # has a memory cgroup (root, cgroups writable; see cgroups.py)
    group_memory_bytes: int = 1024 * 2**20
    max_file_bytes: int = 64 * 2**20  # largest file the worker may write
    max_open_files: int = 256
    max_output_bytes: int = 64 * 2**10  # student output kept for feedback; the rest is counted
    # Largest reply to one call (a frame: the value and, for in-place calls, the arguments).
    # 32 MiB keeps the grader within Gradescope's 768 MB beside its own ~310 MB even when a test
    # converts a reply of bytes to float64 (8 times its size); benchmarks/bench_grader_memory.py
    # measures it. Homework 1's largest legitimate reply is under 100 KB.
    max_value_bytes: int = 32 * 2**20


@dataclass(frozen=True)
class Identity:
    """Who the worker runs as: a fresh unprivileged uid when the grader is root, else None."""

    uid: int | None
    gid: int | None

    @property
    def isolated(self) -> bool:
        return self.uid is not None


def is_sandbox_uid(uid: int) -> bool:
    """One of the uids handed to submissions (choose_identity)."""
    return SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + SANDBOX_UID_SPAN


def uid_in_use(uid: int) -> bool:
    """A process has `uid` as one of its uids or gids (read from its status: a process that made
    itself non-dumpable has /proc files owned by root, and on older kernels its folder too)."""
    from dlhw.autograder.killing import processes_of_uid

    return bool(processes_of_uid(uid))


def sandbox_uid_wanted() -> bool:
    """Root, and not opted out with DLHW_SANDBOX=same-user."""
    return os.geteuid() == 0 and os.environ.get("DLHW_SANDBOX") != "same-user"


def kernel_layers_off() -> bool:
    """DLHW_KERNEL_LAYERS=off (or 0, no): uid, rlimits and seccomp only."""
    return os.environ.get("DLHW_KERNEL_LAYERS", "").lower() in ("off", "0", "no")


def choose_identity() -> Identity:
    """A fresh sandbox uid when root: one no process uses and no earlier run left a survivor of
    (killing.QUARANTINED), reserved for this run (`reserve_unused_uid`) until `release_identity`.
    DLHW_SANDBOX=same-user opts out (e.g. where the interpreter lives in a folder other users
    cannot enter); the run's staff notes then say so."""
    if not sandbox_uid_wanted():
        return Identity(None, None)
    uid = reserve_unused_uid(avoid=set())
    return Identity(uid, uid)


def release_identity(identity: Identity) -> None:
    """The run is over and its uid has no process left: other runs may have it. A quarantined
    uid (a survivor) stays reserved while this process lives."""
    from dlhw.autograder.killing import QUARANTINED

    if identity.uid is not None and identity.uid not in QUARANTINED:
        release_uid(identity.uid)


# Each uid a run of this process uses, with the open file whose lock reserves it: two grading
# processes (a batch's jobs, two batches) that found the same uid unused at the same moment
# both took it, and one's clean-up (every process of the uid is killed) then killed the
# other's worker, and the two submissions' code could signal and ptrace each other. The lock
# (flock, on a file in a folder only root can enter) goes with the process, however it ends.
_RESERVED: dict[int, int] = {}
_RESERVING = threading.Lock()
UID_LOCK_FOLDERS = ("/run/dlhw-sandbox-uids", os.path.join(tempfile.gettempdir(), "dlhw-sandbox-uids"))  # fmt: skip


def reserve_unused_uid(avoid: set[int]) -> int:
    """A sandbox uid no process uses, not quarantined, not in `avoid`, reserved for this
    process (against every other that reserves, then checked unused: a run that reserved it
    first may not have started its worker yet) until `release_uid`."""
    from dlhw.autograder.killing import QUARANTINED

    folder = _uid_lock_folder()
    for _ in range(50):
        uid = SANDBOX_UID_BASE + random.randrange(SANDBOX_UID_SPAN)
        if uid in avoid or uid in QUARANTINED or not _reserve(folder, uid):
            continue
        if not uid_in_use(uid):
            return uid
        release_uid(uid)
    raise RuntimeError("no free sandbox uid")


def release_uid(uid: int) -> None:
    with _RESERVING:
        fd = _RESERVED.pop(uid, None)
    if fd is not None:
        os.close(fd)  # the lock goes with the last descriptor of the open file


def _reserve(folder: str, uid: int) -> bool:
    with _RESERVING:
        if uid in _RESERVED:
            return False
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(os.path.join(folder, str(uid)), flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process's run has it
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        _RESERVED[uid] = fd
        return True


def _uid_lock_folder() -> str:
    """A folder of this (root) process's that no other user can enter or write: the sandbox
    cannot hold (or remove) a lock there."""
    for folder in UID_LOCK_FOLDERS:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError:
            continue
        info = os.lstat(folder)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077:
            return folder
    raise RuntimeError(f"no private folder for the sandbox uids' locks (tried {UID_LOCK_FOLDERS})")


@dataclass(frozen=True)
class Jail:
    """The kernel layers of one run: namespaces and a private view (jail.py), and/or cgroups."""

    root: (
        Path | None
    )  # an empty folder of the grader's, the view's mount point; None: no namespaces
    shared_dir: Path  # the grader's folder of test data, mounted read-only in the view
    cgroup: Cgroup | None


def kernel_layers(identity: Identity, limits: Limits, shared_dir: Path) -> tuple[Jail | None, str]:
    """Which kernel layers this run gets, and a note for the staff log saying which."""
    if not identity.isolated:
        return None, "kernel layers: none (no sandbox uid)"
    if kernel_layers_off():
        return None, "kernel layers: off (DLHW_KERNEL_LAYERS=off); uid, rlimits, seccomp only"
    why_not = namespaces_unavailable()
    group, cgroup_problem = cgroups.create(
        f"dlhw-{identity.uid}-{os.getpid()}-{random.randrange(10**6)}",
        limits.group_memory_bytes,
        limits.max_processes + 8,  # the keeper's two processes and a few threads of slack
    )
    try:
        root = None if why_not else Path(tempfile.mkdtemp(prefix="dlhw-root-"))
    except BaseException:
        if group is not None:
            group.remove()
        raise
    active = [] if why_not else ["namespaces (mount: private view, pid, ipc, net)"]
    active += [group.describe()] if group is not None else []
    note = "kernel layers: " + (" + ".join(active) or "none")
    if why_not:
        note += f"; namespaces unavailable ({why_not})"
    if cgroup_problem:
        note += f"; cgroups: {cgroup_problem}"
    if root is None and group is None:
        return None, note
    return Jail(root, shared_dir, group), note


def worker_environment(workdir: Path) -> dict[str, str]:
    """A minimal environment: nothing of the grader's (tokens, paths) reaches student code."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def spawn_worker(
    identity: Identity,
    workdir: Path,
    read_fd: int,
    write_fd: int,
    limits: Limits,
    jail: Jail | None = None,
    shared_dir: Path | None = None,
) -> Process:
    """Start `python -m dlhw.autograder.worker` confined; student output goes to its stdout pipe.

    With namespaces (`jail.root`), the grader's child is the worker's keeper (jail.py), which runs
    it in a private view, or, where this process has a fork server (a batch job), the keeper is
    forked by that server (forkserver.py); otherwise the grader's child is the worker itself, as
    the sandbox uid.

    Raises forkserver.ForkServerGone when the fork server ended while it held the channel's
    pipes (a keeper it forked for them may have written to them before it died with the
    server): start again on new pipes; the server is not used again."""
    server = forkserver.current() if jail is not None and jail.root is not None else None
    if server is not None:
        try:
            return server.spawn(
                _jail_config(identity, workdir, limits, jail, forkserver.CHANNEL_FDS),  # type: ignore[arg-type]
                read_fd, write_fd,
            )  # fmt: skip
        except forkserver.ForkServerGone:
            if server.gone:  # it ended holding these pipes: the caller starts again on new ones
                raise
            # it forked nothing (e.g. fork failed there): exec'd as below, on the same pipes
    if jail is not None and jail.root is not None:
        config = _jail_config(identity, workdir, limits, jail, (read_fd, write_fd))
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(JAIL), encode_config(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(read_fd, write_fd), cwd=workdir, env={"PATH": "/usr/bin:/bin"},
            start_new_session=True,
        )  # fmt: skip
    proc = subprocess.Popen(
        worker_command(
            read_fd, write_fd, limits, workdir, shared_dir, same_user=not identity.isolated
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(read_fd, write_fd),
        cwd=workdir,
        env=worker_environment(workdir),
        start_new_session=True,
        user=identity.uid,  # None: stay who we are
        group=identity.gid,
        extra_groups=[] if identity.isolated else None,
    )
    _make_first_oom_victim(proc.pid)  # before any student code: that comes after the greeting
    if jail is not None and jail.cgroup is not None:
        # Also before any student code: the worker forks nothing until it is sent a cell.
        for procs in jail.cgroup.procs_files():
            try:
                Path(procs).write_text(str(proc.pid))
            except OSError:
                pass  # the uid and descent layers still find it
    return proc


def worker_command(
    read_fd: int,
    write_fd: int,
    limits: Limits,
    workdir: Path,
    shared_dir: Path | None,
    same_user: bool = False,
    private_view: bool = False,
) -> list[str]:
    """The worker's command line. `same_user`: it runs as the grader's own user (no sandbox
    uid), so it also gives up its capabilities and changes no file's metadata (worker/limits.py).
    `private_view`: it runs in the view (jail.py), whose scratch folders are its own."""
    command = [
        sys.executable, "-I", "-m", "dlhw.autograder.worker",
        "--read-fd", str(read_fd), "--write-fd", str(write_fd),
        "--memory", str(limits.memory_bytes), "--cpu", str(int(limits.run_timeout_s) + 5),
        "--nproc", str(limits.max_processes), "--fsize", str(limits.max_file_bytes),
        "--nofile", str(limits.max_open_files), "--deny", ",".join(DENIED_PACKAGES),
        "--absent", ",".join(ABSENT_PACKAGES),
    ]  # fmt: skip
    if same_user:
        command.append("--same-user")
    if not allow_list_off():
        readable, writable = worker_file_access(workdir, shared_dir, private_view)
        command.append("--allow-list")
        command += [f"--read={path}" for path in readable]
        command += [f"--write={path}" for path in writable]
    return command


def allow_list_off() -> bool:
    """DLHW_LANDLOCK=off (or 0, no): the worker's files are confined by the other layers only
    (permissions, and the private view where there is one), as on a kernel without Landlock."""
    return os.environ.get("DLHW_LANDLOCK", "").lower() in ("off", "0", "no")


def worker_file_access(
    workdir: Path, shared_dir: Path | None, private_view: bool = False
) -> tuple[list[str], list[str]]:
    """What the worker may read and what it may write (worker/landlock.py), the same in every
    mode but for the scratch folders. Read: what the private view shows (view.allowed_read_only:
    the system, the Python environment, the course's packages; never the course root), the
    grader's test data and the random devices. Write: its own folder (its cwd, HOME and
    TMPDIR), /dev/shm (the standard library's multiprocessing makes its semaphores there),
    /dev/null, /dev/zero, /dev/full and its own /proc entry, as any process may (its name in
    /proc/self/comm; no other process's entry, nor the listing: without a private view those
    are the machine's). /tmp, /var/tmp and /run/lock only in the private view (`private_view`),
    where they are the run's own size-limited tmpfs (view.SCRATCH), as before Landlock; without
    it they are the machine's, shared with every user and every other run (a file planted there
    was read as root, docs/attacks/plant_conftest.py), and graded code writes its temporary
    files in its own folder (tempfile follows TMPDIR)."""
    readable = [*allowed_read_only(), "/dev/random", "/dev/urandom"]
    if shared_dir is not None:
        readable.append(str(shared_dir))
    writable = [str(workdir), "/dev/shm", "/dev/null", "/dev/zero", "/dev/full", "/proc/self"]
    if private_view:
        writable += [path for path, _ in SCRATCH if path not in writable]
    return readable, writable


def _jail_config(
    identity: Identity, workdir: Path, limits: Limits, jail: Jail, fds: tuple[int, int]
) -> dict[str, object]:
    """What jail.py's keeper reads: the view, then the worker, reading its channel on `fds`."""
    assert jail.root is not None and identity.uid is not None and identity.gid is not None
    return jail_config(
        uid=identity.uid, gid=identity.gid, workdir=workdir, shared_dir=jail.shared_dir,
        argv=worker_command(*fds, limits, workdir, jail.shared_dir, private_view=True),
        env=worker_environment(workdir), pass_fds=list(fds),
        cgroups=jail.cgroup.procs_files() if jail.cgroup is not None else [], root=jail.root,
    )  # fmt: skip


def start_fork_server() -> str:
    """Give this process a fork server for its workers (forkserver.py; used with namespaces
    only, so where workers get a sandbox uid and the kernel layers); returns a note for the
    staff saying whether it did."""
    if not sandbox_uid_wanted():
        return "fork server: not used (no sandbox uid)"
    if kernel_layers_off():
        return "fork server: not used (DLHW_KERNEL_LAYERS=off)"
    return forkserver.enable(worker_environment(Path("/nonexistent")))


def _make_first_oom_victim(pid: int) -> None:
    """No cgroup bounds the sandbox's processes together (the memory limit is per process): when
    memory runs out, the kernel should kill them, not the grader. Children inherit the value.
    Written with CAP_SYS_RESOURCE, it is also a floor the student's code cannot go below; most
    containers drop that capability, and there deliberate code can lower it back to 0."""
    try:
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")
    except OSError:
        pass


# ---- on the trusted side, at the end --------------------------------------------------------


def become_subreaper() -> None:
    """Orphans of the worker (double forks, setsid daemons) re-parent to us, so we can find them."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def children_of(pid: int) -> list[int]:
    from dlhw.autograder.killing import read_proc

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = read_proc(f"/proc/{entry.name}/stat")  # any bytes in a process's name
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def reap(
    proc: Process | None,
    identity: Identity,
    spared: set[int],
    cgroup: Cgroup | None = None,
    own: int = 1,
) -> tuple[int, list[int]]:
    """Kill the worker (or its keeper, whose death ends its PID namespace), then everything of the
    submission: its cgroup, every process of the sandbox uid, every orphan re-parented to us.

    `spared` holds pids of our own children that are not the worker's (never killed); `own` is
    how many processes of the cgroup are the worker's own (3 with the keeper and its pid 1).
    Returns (leftover processes killed besides the worker, survivors: pids still alive)."""
    members = 0
    if cgroup is not None:
        members = len(cgroup.pids())
        cgroup.kill()
    if proc is not None:
        if isinstance(proc, subprocess.Popen):  # a fork server's keeper is alone in its group,
            try:  # and its pid is signalled only through its pidfd (forkserver.Forked)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.kill()
        proc.wait()
    killed, survivors = converge(identity.uid, spared | ({proc.pid} if proc else set()), cgroup)
    own = own if proc is not None else 0  # without a worker every member was a leftover
    return killed + max(members - own, 0), survivors


# ---- removing what the sandbox left, as root, in folders it could write ------------------------
#
# Every operation is relative to an open folder descriptor and never follows a link: a folder is
# opened with O_NOFOLLOW | O_DIRECTORY (a folder swapped for a link fails to open), files and links
# are unlinked by name in that folder (unlink never follows). Trees are walked iteratively with
# one descriptor open at a time (going back up through "..", checked against the device and inode
# recorded on the way down), so neither depth nor a swap can make root leave the tree, recurse
# out of stack, or run out of descriptors.

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_REMOVALS = 10_000_000  # a process still adding files cannot keep the cleanup going forever


class CleanupError(OSError):
    """A tree changed under the cleanup in a way that makes going on unsafe (it was moved)."""


def _ident(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _empty_folder(top: int) -> int:
    """Remove everything inside the open folder `top` (which stays open); returns the count."""
    removed, cur, names, ids = 0, top, [], [_ident(top)]
    try:
        while removed < _MAX_REMOVALS:
            sub = None
            with os.scandir(cur) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            sub = entry.name
                            break
                        os.unlink(entry.name, dir_fd=cur)
                        removed += 1
                    except FileNotFoundError:
                        continue
            if sub is not None:
                try:
                    child = os.open(sub, _DIR_FLAGS, dir_fd=cur)
                except FileNotFoundError:
                    continue
                except OSError:  # swapped for a link or a file since: remove that, not its target
                    os.unlink(sub, dir_fd=cur)
                    removed += 1
                    continue
                if cur != top:
                    os.close(cur)
                cur = child
                names.append(sub)
                ids.append(_ident(child))
                continue
            if not names:
                return removed
            up = os.open("..", _DIR_FLAGS, dir_fd=cur)
            ids.pop()
            if _ident(up) != ids[-1]:
                os.close(up)
                raise CleanupError("a folder was moved while it was being removed; stopped there")
            os.close(cur)
            if len(ids) == 1:  # back in `top`, which stays open
                os.close(up)
                cur = top
            else:
                cur = up
            try:
                os.rmdir(names.pop(), dir_fd=cur)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:  # refilled meanwhile: the next pass empties it again
                if exc.errno != errno.ENOTEMPTY:
                    raise
        raise CleanupError(f"gave up after removing {removed} entries (still being refilled?)")
    finally:
        if cur != top:
            os.close(cur)


def _remove_entry(parent: int, name: str, owner: int | None = None) -> int:
    """Remove `name` in the open folder `parent`, a whole tree if it is a folder, without
    following links; with `owner`, only if it (still, once opened) belongs to that uid."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
            raise
        if (
            owner is not None
            and os.stat(name, dir_fd=parent, follow_symlinks=False).st_uid != owner
        ):
            return 0
        os.unlink(name, dir_fd=parent)  # a file or a link: unlink never follows
        return 1
    try:
        if owner is not None and os.fstat(fd).st_uid != owner:
            return 0
        removed = _empty_folder(fd)
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent)
    except FileNotFoundError:
        return removed
    return removed + 1


def remove_tree(path: Path | str) -> int:
    """Remove a file or a folder tree without following links or recursing; returns the count
    of entries removed. The folder holding `path` is trusted (ours); nothing below it is."""
    path = os.path.abspath(path)
    parent = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _remove_entry(parent, os.path.basename(path))
    finally:
        os.close(parent)


def remove_scratch_files(identity: Identity, keep: Path) -> int:
    """Delete what the sandbox uid left in world-writable scratch folders, and in world-writable
    folders of others inside them (such as /tmp/.X11-unix), but `keep`, the worker's own folder,
    which the caller removes; returns the count. Call it once no process of the uid is left.
    A failure in one place (reported at the end) does not stop the cleanup of the others."""
    if identity.uid is None:
        return 0
    try:
        kept = os.stat(keep, follow_symlinks=False)
        keep_id: tuple[int, int] | None = (kept.st_dev, kept.st_ino)
    except OSError:
        keep_id = None
    removed, failures = 0, []
    for root in SCRATCH_ROOTS:
        try:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue
        stack = [(fd, 0)]  # world-writable folders to look in, as open descriptors, and depth
        while stack:
            folder, depth = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                        if (info.st_dev, info.st_ino) == keep_id:
                            continue
                        if info.st_uid == identity.uid:
                            _remove_entry(folder, entry.name, owner=identity.uid)
                            removed += 1
                        elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o002 and depth < 8:
                            sub = os.open(entry.name, _DIR_FLAGS, dir_fd=folder)
                            stack.append((sub, depth + 1))
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        failures.append(exc)
            except OSError as exc:
                failures.append(exc)
            finally:
                os.close(folder)
    if failures:
        raise CleanupError(
            f"removed {removed} entries, but {len(failures)} could not be: {failures[0]}"
        )
    return removed


def remove_ipc_objects(identity: Identity) -> int:
    """System V shared memory, semaphores and message queues outlive their processes (a segment
    holds its memory until removed): remove those the sandbox uid created or owns; returns the
    count. Call it once no process of the uid is left."""
    if not identity.isolated:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    ipc_rmid = 0
    removers = {
        "shm": ("shmid", lambda i: libc.shmctl(i, ipc_rmid, None)),
        "sem": ("semid", lambda i: libc.semctl(i, 0, ipc_rmid)),
        "msg": ("msqid", lambda i: libc.msgctl(i, ipc_rmid, None)),
    }
    removed = refused = 0
    for kind, (id_column, remove) in removers.items():
        try:
            header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except (OSError, ValueError):
            continue
        columns = header.split()
        for row in rows:
            fields = dict(zip(columns, row.split(), strict=False))
            owners = {int(fields.get("uid", -1)), int(fields.get("cuid", -1))}
            if identity.uid in owners:
                if remove(int(fields[id_column])) == 0:
                    removed += 1
                else:
                    refused += 1
    if refused:  # root without CAP_SYS_ADMIN (a container) may not: the owner may
        removed += remove_ipc_as_owner(identity.uid)  # type: ignore[arg-type]
    return removed
