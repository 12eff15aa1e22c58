"""Limits the worker applies to itself before it reads any student code (rlimits, umask, a
seccomp filter that closes the network). Runs in the student's process."""

from __future__ import annotations

import ctypes
import os
import resource
import struct

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
) -> list[str]:
    """Apply limits to this process (the worker) before any student code runs. With `readable`
    and `writable` (the grader's allow-list), the file allow-list comes last (landlock.py): what
    runs before it here reads /proc.

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
        resource.setrlimit(limit, (value, value))
    # RLIMIT_NPROC counts every process of the uid: tight for a fresh sandbox uid, generous when
    # the worker shares the grader's user (only a fork-bomb brake there).
    running = _processes_of_uid(os.getuid()) if os.getuid() != 0 else 0
    resource.setrlimit(resource.RLIMIT_NPROC, (running + nproc, running + nproc))
    if not block_network():
        notes.append(f"network filter unavailable on {os.uname().machine}")
    if readable is not None and writable is not None:
        notes += landlock.restrict(readable, writable)
    return notes


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


# (audit arch, socket, io_uring_setup, unshare, clone, clone3) per machine; other machines get
# no filter (noted).
_SYSCALLS = {
    "x86_64": (0xC000003E, 41, 425, 272, 56, 435),
    "aarch64": (0xC00000B7, 198, 425, 97, 220, 435),
}
CLONE_NEWUSER = 0x10000000


def block_network() -> bool:
    """Install a seccomp filter: socket(AF_UNIX) is allowed, every other family fails with EACCES,
    and so does every system call of another ABI (i386, x32). New user namespaces are refused
    too (EPERM), as Docker's default profile does: inside one the sandbox uid would be root to
    much more of the kernel, which is where privilege escalations are found. clone3 passes its
    flags in memory a filter cannot read: it fails with ENOSYS, and the C library falls back to
    clone, whose flags are checked."""
    arch = _SYSCALLS.get(os.uname().machine)
    if arch is None:
        return False
    audit_arch, nr_socket, nr_io_uring, nr_unshare, nr_clone, nr_clone3 = arch
    allow = 0x7FFF0000  # SECCOMP_RET_ALLOW
    errno_ret = 0x00050000  # SECCOMP_RET_ERRNO | errno
    eacces, eperm, enosys = errno_ret | 13, errno_ret | 1, errno_ret | 38
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    # (code, jump if true, jump if false, k): jumps count instructions after the next one.
    program = [
        (ld, 0, 0, 4),  # 0: A = seccomp_data.arch
        # 1: another ABI -> deny: on x86_64, `int 0x80` reaches the i386 socket() with numbers
        # this filter does not check, and student code can run machine code through ctypes.
        (jeq, 0, 12, audit_arch),
        (ld, 0, 0, 0),  # 2: A = seccomp_data.nr
        (jge, 10, 0, 0x40000000),  # 3: x32 system calls -> deny
        (jeq, 9, 0, nr_io_uring),  # 4: io_uring can open sockets behind seccomp's back -> deny
        (jeq, 10, 0, nr_clone3),  # 5: clone3 -> ENOSYS (flags out of the filter's sight)
        (jeq, 4, 0, nr_unshare),  # 6: unshare -> check its flags (11)
        (jeq, 3, 0, nr_clone),  # 7: clone -> check its flags (11)
        (jeq, 0, 4, nr_socket),  # 8: not socket() -> allow
        (ld, 0, 0, 16),  # 9: A = low half of args[0], the address family
        (jeq, 2, 3, 1),  # 10: AF_UNIX -> allow, else deny
        (ld, 0, 0, 16),  # 11: A = low half of args[0], the flags
        (jset, 2, 0, CLONE_NEWUSER),  # 12: a new user namespace -> EPERM, else allow
        (ret, 0, 0, allow),  # 13
        (ret, 0, 0, eacces),  # 14
        (ret, 0, 0, eperm),  # 15
        (ret, 0, 0, enosys),  # 16
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
