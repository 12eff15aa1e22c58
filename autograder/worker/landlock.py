"""The worker's file allow-list, enforced by the kernel's Landlock (Linux 5.13 and later, no
privilege needed, allowed by Docker's default seccomp profile since 23.0). Runs in the student's
process, last of its limits, before any student code.

Deny by default, in every mode (with or without root, namespaces or cgroups): once applied, this
process and everything it forks can open only what the grader listed, whatever the files'
permissions say:
- `readable` paths (and everything below them): read, list, execute;
- `writable` paths: everything (create, write, remove, rename within them).
Anything else (the course's hidden tests and reference, other users' files, the rest of /proc)
fails with PermissionError. File descriptors open before (the channel's pipes, stdout) are not
affected. Where the kernel's Landlock is new enough (ABI 4, 6), TCP `bind`/`connect` are
refused as well, and signals and abstract Unix sockets cannot reach outside this process tree
(the grader, other runs).

Landlock only ever takes rights away; what it cannot apply (an older kernel, a container whose
seccomp profile refuses the calls) is reported, and the other layers stay as they were.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys

# System call numbers: the same on every architecture (added after the tables were unified).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights (include/uapi/linux/landlock.h); ABI 1 knows the first 13.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3 and 5
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a rule on a file holds
READ = EXECUTE | READ_FILE | READ_DIR
# Network (ABI 4) and scopes (ABI 6).
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # packed in the kernel's header: 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def handled_rights(abi: int) -> int:
    """Every filesystem right the kernel of this ABI knows: all are denied unless a rule grants
    them (handling one the kernel does not know makes the ruleset invalid)."""
    rights = (1 << 13) - 1
    for needed, right in ((2, REFER), (3, TRUNCATE), (5, IOCTL_DEV)):
        if abi >= needed:
            rights |= right
    return rights


def _syscall(libc: ctypes.CDLL, number: int, *args: object) -> int:
    return int(libc.syscall(ctypes.c_long(number), *args))


def abi_version() -> int:
    """The kernel's Landlock ABI (1 and up), or -errno where there is none (ENOSYS: an older
    kernel or a seccomp profile refusing it; EOPNOTSUPP: built in, not enabled at boot)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = _syscall(libc, _CREATE_RULESET, None, ctypes.c_size_t(0),
                   ctypes.c_uint32(_CREATE_RULESET_VERSION))  # fmt: skip
    return abi if abi >= 0 else -ctypes.get_errno()


def restrict(readable: list[str], writable: list[str]) -> list[str]:
    """Apply the allow-list to this process and its future children. Paths that do not exist
    are left out. Returns notes for staff: why it was not applied, or what this kernel's
    Landlock could not do; nothing when all of it holds."""
    if not sys.platform.startswith("linux"):  # elsewhere system call 444 is something else
        return [f"file allow-list (Landlock) unavailable: {sys.platform} is not Linux"]
    abi = abi_version()
    if abi < 0:
        return [f"file allow-list (Landlock) unavailable: {os.strerror(-abi)}"]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    handled = handled_rights(abi)
    attr = _RulesetAttr(
        handled_access_fs=handled,
        handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = 8 if abi < 4 else 16 if abi < 6 else 24  # the fields this ABI reads
    ruleset = _syscall(libc, _CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                       ctypes.c_uint32(0))  # fmt: skip
    if ruleset < 0:
        return [f"file allow-list (Landlock) not applied: {os.strerror(ctypes.get_errno())}"]
    try:
        for path, rights in [(p, READ) for p in readable] + [(p, handled) for p in writable]:
            error = _add_rule(libc, ruleset, path, rights & handled)
            if error:
                return [f"file allow-list (Landlock) not applied: {path}: {error}"]
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return ["file allow-list (Landlock) not applied: no_new_privs refused"]
        if _syscall(libc, _RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return [f"file allow-list (Landlock) not applied: {os.strerror(ctypes.get_errno())}"]
    finally:
        os.close(ruleset)
    return (
        [f"Landlock ABI {abi}: file allow-list applied; " + "; ".join(missing(abi))]
        if abi < 6
        else []
    )


def missing(abi: int) -> list[str]:
    """What the allow-list of a kernel with this Landlock ABI does not do, for staff."""
    gaps = [
        (2, "files cannot be moved or linked between folders, even in its own (EXDEV; ABI 2, "
            "Linux 5.19)"),
        (3, "truncate() by path and open(O_TRUNC) for reading are not confined: any file the "
            "worker's uid may write can be truncated (ABI 3, Linux 6.2)"),
        (4, "TCP not refused by it (ABI 4)"),
        (6, "signals and abstract sockets not scoped (ABI 6, Linux 6.12)"),
    ]  # fmt: skip
    return [gap for needed, gap in gaps if abi < needed]


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> str:
    """Grant `rights` below `path` (on a file: only the rights a file can have). Returns why
    not, or '' (also for a path that does not exist: nothing to grant)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_ONLY
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if _syscall(libc, _ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                    ctypes.byref(rule), ctypes.c_uint32(0)) != 0:  # fmt: skip
            return os.strerror(ctypes.get_errno())
        return ""
    finally:
        os.close(fd)
