"""The keeper of one worker: a private view of the machine, in namespaces of its own (root only).

The grader runs this file as root, `python -I -S jail.py CONFIG` (standard library only, so it
starts fast and imports nothing of the course), where CONFIG is the dict `view.jail_config` makes,
in `marshal`'s format, as hex (`encode_config`): the grader's own data, never the student's; JSON
would cost every run ~8 ms more to start (json imports `re`). Three processes:

- P0 (this one, in the grader's namespaces; the grader's child, which the grader kills): joins the
  run's cgroups, so everything below is in them, unshares mount, PID, IPC and network namespaces
  and forks P1. When P1 ends, P0 ends the same way as the worker did (exit status or signal), so
  the grader's messages ("segmentation fault", "out of memory") stay what they were.
- P1 (root, pid 1 of the new PID namespace; dies with P0 by PR_SET_PDEATHSIG): builds the view (a
  read-only tmpfs root holding only the allow-listed paths, read-only; fresh /proc, a minimal /dev,
  private scratch tmpfs), pivots into it, forks the worker and reaps orphans until the worker
  exits. When P1 dies, the kernel kills every process of the namespace: nothing outlives it.
- P2, the worker: drops to the sandbox uid (no groups), leads its own session, execs the worker
  (or, where a batch job's fork server forked P0, runs the worker loop it already has:
  forkserver.py).

The sandbox cannot signal P0 or P1 (they are root), and pid 1 ignores signals from its namespace.
"""

from __future__ import annotations

import ctypes
import marshal
import os
import resource
import select
import signal
import sys

TYPE_CHECKING = False  # `typing` costs every start ~6 ms; annotations are never evaluated here
if TYPE_CHECKING:
    from typing import Any

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x8000000, 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH, PR_SET_PDEATHSIG = 2, 1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
EXIT_JAIL_FAILED = 125  # the view could not be built: a problem of the grader's machine

_libc = ctypes.CDLL(None, use_errno=True)


def encode_config(cfg: dict[str, Any]) -> str:
    """The command-line form of a config (plain dicts, lists, strings and ints)."""
    return marshal.dumps(cfg).hex()


def _print_exception() -> None:
    import traceback  # only on failure: ~3 ms of every start otherwise

    traceback.print_exc()


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype)]
    _check(_libc.mount(enc[0], enc[1], enc[2], flags, data.encode() or None), f"mount {target}")


def unshare() -> None:
    _check(_libc.unshare(NAMESPACES), "unshare")


# ---- the view (in P1, root, inside the new mount and PID namespaces) --------------------------


def _make_target(target: str, like: str | None) -> None:
    if like is not None and not os.path.isdir(like):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    else:
        os.makedirs(target, exist_ok=True)


def build_view(cfg: dict[str, Any]) -> None:
    """Mount the allow-listed paths under a fresh tmpfs and make it the root (see view.py)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here propagates to the host
    root = cfg["root"]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=755")
    for kind, path, arg in cfg["mounts"]:
        target = root + path
        if kind == "symlink":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(arg, target)
        elif kind in ("ro", "rw"):
            _make_target(target, path)
            _mount(path, target, None, MS_BIND | MS_REC)
            flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (MS_RDONLY if kind == "ro" else 0)
            _mount(None, target, None, flags)
        elif kind == "device":
            _make_target(target, path)
            _mount(path, target, None, MS_BIND)
        elif kind == "tmpfs":  # arg: mount options (size, inodes, mode)
            _make_target(target, None)
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, arg)
        elif kind == "proc":
            _make_target(target, None)
            # hidepid=2: the sandbox does not even see its keeper (pid 1, root) or its command line
            _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
        else:
            raise ValueError(f"unknown mount kind {kind!r}")
    _mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    machine = os.uname().machine
    number = SYS_PIVOT_ROOT.get(machine)
    if number is None:
        raise OSError(f"pivot_root: unknown system call number on {machine}")
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")  # the host's tree is gone
    os.chdir("/")


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def init(cfg: dict[str, Any], status_w: int, alive_r: int, run_worker: Any = None) -> None:
    """P1: pid 1 of the namespace. Returns never. P2 execs the worker (`cfg["argv"]`), or, forked
    from the fork server (forkserver.py), calls `run_worker(cfg)`, which never returns."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if select.select([alive_r], [], [], 0)[0]:  # EOF: P0 died before the line above
        os._exit(EXIT_JAIL_FAILED)
    os.close(alive_r)
    os.setsid()  # a group of its own: killpg on "the grader's group" from inside reaches only P1
    build_view(cfg)
    worker = os.fork()
    if worker == 0:
        os.close(status_w)
        try:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
            os.chdir(cfg["workdir"])
            os.setsid()
            if run_worker is not None:
                run_worker(cfg)
            os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
        except BaseException:  # noqa: BLE001 - the grader reads this in the worker's output
            _print_exception()
        os._exit(EXIT_JAIL_FAILED)
    _close_fds(cfg["pass_fds"])
    while True:  # orphans of the namespace re-parent to us: reap them until the worker exits
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(EXIT_JAIL_FAILED)
        if pid == worker:
            os.write(status_w, status.to_bytes(4, "little"))
            os._exit(0)  # the kernel now kills every other process of the namespace


def _end_like(status: int) -> None:
    """P0 ends as the worker did: the same exit status, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else EXIT_JAIL_FAILED)


def probe() -> None:
    """What the keeper does first, in a process of the grader's forked to ask whether this
    machine can give a worker its namespaces (view.namespaces_unavailable): OSError says why not."""
    unshare()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def main(argv: list[str]) -> None:
    keep(marshal.loads(bytes.fromhex(argv[0])))


def keep(cfg: dict[str, Any], run_worker: Any = None) -> None:
    """P0's work (see the module's docstring); returns never. `run_worker`: see `init`."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # P0 re-raises SIGSEGV: no core file
    with open("/proc/self/oom_score_adj", "w") as f:  # inherited by every process below
        f.write("1000")
    for procs in cfg["cgroups"]:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    unshare()
    status_r, status_w = os.pipe()
    alive_r, alive_w = os.pipe()  # never written: P1 sees EOF on it once P0 is gone
    p1 = os.fork()
    if p1 == 0:
        os.close(status_r)
        os.close(alive_w)
        try:
            init(cfg, status_w, alive_r, run_worker)
        except BaseException:  # noqa: BLE001
            _print_exception()
        os._exit(EXIT_JAIL_FAILED)
    os.close(status_w)
    os.close(alive_r)
    _close_fds(cfg["pass_fds"])
    os.waitpid(p1, 0)
    raw = os.read(status_r, 4)
    _end_like(int.from_bytes(raw, "little") if len(raw) == 4 else EXIT_JAIL_FAILED << 8)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except OSError as exc:
        print(f"jail: {exc}", file=sys.stderr)
        sys.exit(EXIT_JAIL_FAILED)
