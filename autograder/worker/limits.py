"""Limits the worker applies to itself before it reads any student code (rlimits, umask, a
seccomp filter that closes the network and keeps the worker to its own processes). Runs in
the student's process."""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import struct
from typing import NamedTuple

from dlhw.autograder.worker import landlock

EXIT_OUT_OF_MEMORY = 99  # the worker's exit status when it cannot go on for lack of memory
# A cell's SyntaxWarnings the worker reports (loop.py), and the length of each: what the grader
# accepts of them too (session.py).
MAX_WARNINGS, MAX_WARNING_CHARS = 5, 300


def confine_self(
    memory: int,
    cpu: int,
    nproc: int,
    fsize: int,
    nofile: int,
    readable: list[str] | None = None,
    writable: list[str] | None = None,
    same_user: bool = False,
) -> list[str]:
    """Apply limits to this process (the worker) before any student code runs. With `readable`
    and `writable` (the grader's allow-list), the file allow-list comes last (landlock.py): what
    runs before it here reads /proc. With `same_user` (no sandbox uid: the worker is the
    grader's own user, root included), it also gives up every capability and changes no file's
    metadata (install_seccomp_filter's `keep_metadata`).

    Returns notes on layers that could not be applied here (shown to staff)."""
    notes = []
    os.umask(0o077)
    for limit, value in (
        # RLIMIT_DATA bounds what allocations can take (heap, anonymous mmaps: every numpy array),
        # not the shared libraries mapped in: `import torch` maps ~600 MB of address space but
        # allocates ~180 MB. The address space gets a loose backstop against huge reservations.
        (resource.RLIMIT_DATA, memory),
        (resource.RLIMIT_AS, max(8 * memory, 4 * 2**30)),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_NOFILE, nofile),
        (resource.RLIMIT_CORE, 0),
    ):
        _lower(limit, value)
    # RLIMIT_NPROC counts every process of the uid: tight for a fresh sandbox uid, generous when
    # the worker shares the grader's user (only a fork-bomb brake there).
    running = _processes_of_uid(os.getuid()) if os.getuid() != 0 else 0
    _lower(resource.RLIMIT_NPROC, running + nproc)
    # After the limits: root may set one above a hard limit it inherited, a process without
    # capabilities may not.
    if same_user and os.geteuid() == 0 and not drop_capabilities():
        notes.append("capabilities could not be dropped (the worker runs as root)")
    if not install_seccomp_filter(keep_metadata=same_user):
        notes.append(f"network filter unavailable on {os.uname().machine}")
    if readable is not None and writable is not None:
        notes += landlock.restrict(readable, writable)
    return notes


def _lower(limit: int, value: int) -> None:
    """Set a limit, soft and hard, to `value`, or to the hard limit the worker inherited where
    that is lower: raising it needs CAP_SYS_RESOURCE, which a grader without root (or root in a
    container that drops it) lacks, and every run then failed ("not allowed to raise maximum
    limit") under a shell's `ulimit -Hn 200`."""
    hard = resource.getrlimit(limit)[1]
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, value))


def _processes_of_uid(uid: int) -> int:
    count = 0
    for name in os.listdir("/proc"):  # os, not pathlib: pathlib costs the worker's start ~3 ms
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as file:
                    status = file.read()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("Uid:") and int(line.split()[1]) == uid:
                    count += int(_threads(status))
    return count


def _threads(status: str) -> int:
    for line in status.splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 1


class _Calls(NamedTuple):
    """System call numbers of one machine (and its seccomp audit arch)."""

    arch: int
    socket: int
    socketpair: int
    io_uring_setup: int
    unshare: int
    clone: int
    clone3: int
    prlimit64: int
    setpriority: int
    ioprio_set: int
    # (pid, ...) first: each may act on another process of the same uid.
    sched: tuple[int, ...]  # setparam, setscheduler, setaffinity, setattr
    # What changes a file's metadata, which Landlock does not confine: mode, owner, times,
    # extended attributes (fchmodat2 452, setxattrat 463 and removexattrat 466 on both).
    metadata: tuple[int, ...]


# Other machines get no filter (noted).
_SYSCALLS = {
    "x86_64": _Calls(
        0xC000003E, 41, 53, 425, 272, 56, 435, 302, 141, 251, (142, 144, 203, 314),
        # chmod fchmod fchmodat chown fchown lchown fchownat utime utimes futimesat utimensat
        # setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr
        (90, 91, 268, 92, 93, 94, 260, 132, 235, 261, 280, 188, 189, 190, 197, 198, 199,
         452, 463, 466),
    ),
    "aarch64": _Calls(
        0xC00000B7, 198, 199, 425, 97, 220, 435, 261, 140, 30, (118, 119, 122, 274),
        # fchmod fchmodat fchown fchownat utimensat setxattr lsetxattr fsetxattr removexattr
        # lremovexattr fremovexattr
        (52, 53, 55, 54, 88, 5, 6, 7, 14, 15, 16, 452, 463, 466),
    ),
}  # fmt: skip
CLONE_NEWUSER = 0x10000000
AF_UNIX, SOCK_STREAM, SOCK_SEQPACKET, SOCK_TYPE_MASK = 1, 1, 5, 0xF
PRIO_USER, IOPRIO_WHO_USER = 2, 3  # "every process of the uid": the grader's, without a sandbox uid


def install_seccomp_filter(keep_metadata: bool = False) -> bool:
    """Install a seccomp filter, for this process and every child:

    - socket() fails with EACCES for every address family, AF_UNIX included: Landlock does not
      confine connecting to a Unix socket by path, and without a private view every service of
      the machine whose socket the worker's uid may write was reachable (with the grader's own
      user, its systemd user manager, D-Bus session, ssh-agent, Docker: each acts outside the
      allow-list on the worker's behalf). socketpair() stays, for AF_UNIX stream and seqpacket
      pairs (multiprocessing.Pipe, asyncio); a datagram pair is refused, since sendto() on one
      reaches any datagram socket by path;
    - every system call of another ABI (i386, x32) and io_uring (which opens sockets behind
      seccomp's back) fail with EACCES;
    - new user namespaces fail with EPERM, as Docker's default profile does: inside one the
      sandbox uid would be root to much more of the kernel, where privilege escalations are
      found. clone3 passes its flags in memory a filter cannot read: it fails with ENOSYS, and
      the C library falls back to clone, whose flags are checked;
    - prlimit64, setpriority, ioprio_set and sched_set{param,scheduler,affinity,attr} act only
      on the calling process (pid 0), never on "every process of the uid": without a sandbox
      uid the grader is the worker's own user, and Landlock scopes its signals, not these
      (prlimit(grader, RLIMIT_CPU) had the kernel kill it). setrlimit, os.nice and the like
      pass 0;
    - with `keep_metadata` (no sandbox uid), chmod, chown, utime and the extended attributes'
      calls succeed without doing anything: Landlock confines opening files, not these, and the
      grader's own user may change its files' modes (a course's solutions opened to every
      user, its grader closed to itself; as root, a setuid interpreter). They succeed, rather
      than fail, so that shutil.copy in the worker's folder works as anywhere else."""
    calls = _SYSCALLS.get(os.uname().machine)
    if calls is None:
        return False
    allow = 0x7FFF0000  # SECCOMP_RET_ALLOW
    errno_ret = 0x00050000  # SECCOMP_RET_ERRNO | errno
    ld, jeq, jge, jset, and_k, ret = 0x20, 0x15, 0x35, 0x45, 0x54, 0x06
    arg0, arg1 = 16, 24  # low halves of the first two arguments (pids and flags are 32 bits)
    dispatch = [(calls.io_uring_setup, "eacces"), (calls.clone3, "enosys"),
                (calls.unshare, "newuser"), (calls.clone, "newuser"), (calls.socket, "eacces"),
                (calls.socketpair, "pair"), (calls.prlimit64, "self"),
                (calls.setpriority, "who"), (calls.ioprio_set, "iowho"),
                *((number, "self") for number in calls.sched),
                *((number, "ignored") for number in (calls.metadata if keep_metadata else ()))]  # fmt: skip
    # (code, jump if true, jump if false, k): jumps name a label, or None for the next one.
    source: list[tuple[str, tuple[int, str | None, str | None, int]]] = [
        ("", (ld, None, None, 4)),  # A = seccomp_data.arch
        # Another ABI -> deny: on x86_64, `int 0x80` reaches the i386 socket() with numbers
        # this filter does not check, and student code can run machine code through ctypes.
        ("", (jeq, None, "eacces", calls.arch)),
        ("", (ld, None, None, 0)),  # A = seccomp_data.nr
        ("", (jge, "eacces", None, 0x40000000)),  # x32 system calls
        *(("", (jeq, label, None, number)) for number, label in dispatch),
        ("", (ret, None, None, allow)),
        ("newuser", (ld, None, None, arg0)),  # the flags
        ("", (jset, "eperm", "allow", CLONE_NEWUSER)),
        ("pair", (ld, None, None, arg0)),  # the family
        ("", (jeq, None, "eacces", AF_UNIX)),
        ("", (ld, None, None, arg1)),  # the type, less SOCK_NONBLOCK and SOCK_CLOEXEC
        ("", (and_k, None, None, SOCK_TYPE_MASK)),
        ("", (jeq, "allow", None, SOCK_STREAM)),
        ("", (jeq, "allow", "eacces", SOCK_SEQPACKET)),
        ("who", (ld, None, None, arg0)),  # which
        ("", (jeq, "eperm", "self2", PRIO_USER)),
        ("iowho", (ld, None, None, arg0)),
        ("", (jeq, "eperm", "self2", IOPRIO_WHO_USER)),
        ("self", (ld, None, None, arg0)),  # the pid: 0 is the caller
        ("", (jeq, "allow", "eperm", 0)),
        ("self2", (ld, None, None, arg1)),  # who: 0 is the caller (its process, its group)
        ("", (jeq, "allow", "eperm", 0)),
        ("allow", (ret, None, None, allow)),
        ("eacces", (ret, None, None, errno_ret | errno.EACCES)),
        ("eperm", (ret, None, None, errno_ret | errno.EPERM)),
        ("enosys", (ret, None, None, errno_ret | errno.ENOSYS)),
        ("ignored", (ret, None, None, errno_ret | 0)),  # returns 0: done, as far as it knows
    ]
    labels = {label: i for i, (label, _) in enumerate(source) if label}

    def offset(here: int, label: str | None) -> int:
        jump = 0 if label is None else labels[label] - here - 1
        assert 0 <= jump < 256, (label, jump)  # forward only, and a jump fits in a byte
        return jump

    program = [
        (code, offset(i, true), offset(i, false), k)
        for i, (_, (code, true, false, k)) in enumerate(source)
    ]
    raw = b"".join(struct.pack("HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(raw)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0) == 0


_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def drop_capabilities() -> bool:
    """Give up every capability, for good: the bounding set (so no exec gives one back, setuid
    root or not), the ambient set, then effective, permitted and inheritable. For a worker that
    runs as root (DLHW_SANDBOX=same-user as root): without this it could load a kernel module
    from a file it wrote, read any file (CAP_DAC_READ_SEARCH, open_by_handle_at), and so on.
    It stays uid 0, owner of root's files: their metadata is left to install_seccomp_filter
    (keep_metadata), their contents to Landlock. Returns False where a step failed."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 63
    ok = True
    for cap in range(last + 1):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            ok = False
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL before Linux 4.3

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    header, data = Header(_LINUX_CAPABILITY_VERSION_3, 0), (Data * 2)()
    return libc.capset(ctypes.byref(header), data) == 0 and ok
