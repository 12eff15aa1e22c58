"""The boundary's own I/O and the grader's bookkeeping (issue #8): a worker that stops reading,
malformed replies, text that spoofs the terminal, replies of the largest admitted size, trees that
defeat a recursive or link-following cleanup, other runs' uploads and results, and IPython syntax
next to Python that only looks like it. Each case is the reference plus its change; see
build_corpus.py."""

from __future__ import annotations

from corpus_kit import (
    DAEMON,
    HW,
    Case,
    after_all,
    after_imports,
    assign,
    every_function,
    src,
    with_functions,
)
from flood import FLOOD

# Shrinks the request pipe to one page and never reads again: a hidden test's request (up to
# ~40 KB) then fills the pipe, and a grader that writes without a deadline blocks forever.
STOP_READING = """
import fcntl
import sys
import time

from dlhw.autograder.wire import protocol

fd = int(sys.argv[sys.argv.index("--read-fd") + 1])
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
protocol.Channel.receive = lambda self, *args: time.sleep(3600)
print("stopped reading requests")
"""

# Frames the old decoder met with ValueError or TypeError instead of a protocol error.
MALFORMED_BODIES = [
    '{"__dict__": {"ok": true, "value": {"__complex__": [1.0]}}}',
    '{"__dict__": {"ok": true, "value": {"__complex__": 5}}}',
    '{"__dict__": {"ok": true, "value": {"__ndarray__": 0, "dtype": "<f8", "shape": [1],'
    ' "scalar": []}}}',
    '{"__dict__": {"ok": true, "value": [{"__ndarray__": 0, "dtype": "|u1", "shape": [8],'
    ' "scalar": false}, {"__ndarray__": 0, "dtype": "|u1", "shape": [8], "scalar": false}]}}',
]

# The worker cuts what it says of an error (describe_error); a notebook can swap that function
# for one that fills a frame's whole header, with one astral character making the string 4
# bytes per character: the grader copied it into every failed test (2 GB for homework 1).
HUGE_ERRORS = """
import sys

def huge_error(exc):
    text = "huge error " + "A" * 1_900_000 + "\\U0001f600"
    return {"type": "ValueError", "message": text, "traceback": text}

sys.modules["dlhw.autograder.worker.loop"]._error = huge_error
"""

SEND_RAW = """
import os
import sys
import time

from dlhw.autograder.wire import protocol

WRITE_FD = int(sys.argv[sys.argv.index("--write-fd") + 1])


def send_raw(body, buffers=b"", sizes=()):
    header = ('{"body": ' + body + ', "buffers": ' + str(list(sizes)) + "}").encode()
    os.write(WRITE_FD, protocol.HEADER.pack(len(header)) + header + buffers)
"""

# What a terminal would obey: clear the screen, go home, overwrite the line, reverse the text.
SPOOF = "\\x1b[2J\\x1b[H\\rTOTAL 31/31 \\u202e\\ud800"
SPOOF_PRINTED = SPOOF.removesuffix("\\ud800")  # print() cannot encode a lone surrogate

DEEP = """
import ctypes
import os


def deep(folder, levels):
    fd = os.open(folder, os.O_RDONLY)
    for _ in range(levels):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    with open(f"/proc/self/fd/{fd}/bottom", "w") as f:
        f.write("x")
    os.chmod(fd, 0)  # the bottom folder locked, too
    os.close(fd)


built = []
for base in ("/tmp", SHARED, "."):  # 1500 levels: past a recursive removal's limit (~1000)
    top = os.path.join(base, f"dlhw-corpus-deep-{os.getpid()}")
    try:
        os.mkdir(top)
        deep(top, 1500)
        built.append(base)
    except OSError as exc:
        print(base, exc)
libc = ctypes.CDLL(None, use_errno=True)
ipc = [libc.shmget(0, 2**16, 0o1600), libc.semget(0, 1, 0o1600), libc.msgget(0, 0o1600)]
print(f"built 1500 levels in {len(built)} folders, and {sum(i >= 0 for i in ipc)} IPC objects")
"""

LINKS = """
import os

planted = []
# Every folder it may write: its own and /dev/shm in every mode; the others where there is no
# file allow-list (Landlock).
for base in ("/tmp", "/var/tmp", "/dev/shm", SHARED, "."):
    top = os.path.join(base, f"dlhw-corpus-links-{os.getpid()}")
    try:
        os.makedirs(os.path.join(top, "a", "b"))
        os.symlink(DECOY, os.path.join(top, "a", "decoy-folder"))
        os.symlink(os.path.join(DECOY, "victim.txt"), os.path.join(top, "a", "b", "victim"))
        os.symlink(DECOY, top + ".link")
        planted.append(base)
    except OSError as exc:
        print(base, exc)


def swap():  # folder <-> link to the decoy, as fast as it can, until it is killed
    top = f"/dev/shm/dlhw-corpus-swap-{os.getpid()}"
    os.makedirs(top + "/inner/deeper")
    while True:
        try:
            os.rename(top + "/inner", top + "/moved")
            os.symlink(DECOY, top + "/inner")
            os.unlink(top + "/inner")
            os.rename(top + "/moved", top + "/inner")
        except OSError:
            pass


daemon(swap)
print(f"links planted in {' and '.join(b for b in planted if b in ('/dev/shm', '.'))}, "
      f"{len(planted)} folders in all, a swapper left running")
"""

READ_OTHERS = """
import os

read = 0
for what, path in (("earlier upload", EARLIER_UPLOAD), ("earlier results", EARLIER_RESULTS)):
    try:
        with open(path) as f:
            print(f"{what}: READ {len(f.read())} characters")
            read += 1
    except OSError as exc:  # PermissionError, or FileNotFoundError inside the private view
        print(f"{what}: {type(exc).__name__}: {exc.strerror}")
if not read:
    print("read nothing of the earlier run")
"""

# Correct code that is not IPython syntax though a line starts with `!` or `%`.
CONTINUATIONS = '''
%matplotlib inline
!echo this line is a shell escape


def softmax_loss(Z, y):
    """Mean softmax cross-entropy loss (with a `!=` and a `%` that start continuation lines)."""
    Z = Z - Z.max(axis=1, keepdims=True)
    wrong = (Z.argmax(axis=1)
             != y)  # computed for nothing: only the line's position matters
    batch = (len(y)
             % (len(y) + 1))  # = len(y)
    note = """
!not a shell escape: inside a string
%not a magic either
"""
    log_sum_exp = np.log(np.exp(Z).sum(axis=1))
    return float(np.sum(log_sum_exp - Z[np.arange(Z.shape[0]), y]) / batch) + 0 * wrong.sum()
'''

BOUNDARY = [
    Case(
        "stops_reading_requests",
        "boundary io",
        "shrinks its request pipe to one page and never reads again: writes need a deadline",
        lambda ctx: after_all(STOP_READING),
    ),
    Case(
        "stops_reading_past_the_budget",
        "boundary io",
        "the same with per-call limits longer than the run's budget: the budget still holds",
        lambda ctx: after_all(STOP_READING),
    ),
    Case(
        "malformed_cell_reply",
        "boundary io",
        "answers one cell with a frame the old decoder met with a TypeError (not a protocol error)",
        lambda ctx: after_imports(
            SEND_RAW
            + src(
                """
                real_send = protocol.Channel.send


                def forged(self, message, *rest):
                    protocol.Channel.send = real_send
                    send_raw('{"__dict__": {"ok": true, "error": {"__complex__": 1}}}')


                protocol.Channel.send = forged
                """
            )
        ),
    ),
    Case(
        "malformed_call_replies",
        "boundary io",
        "softmax_loss answers with frames that raised ValueError/TypeError in the old decoder",
        lambda ctx: [
            *with_functions(
                softmax_loss="""
                def softmax_loss(Z, y):
                    global calls
                    calls += 1
                    send_raw(BODIES[calls % len(BODIES)], bytes(16), [8, 8])
                    time.sleep(3600)
                """
            ),
            SEND_RAW + assign(BODIES=MALFORMED_BODIES) + "calls = 0",
        ],
    ),
    Case(
        "spoofed_text_in_messages",
        "boundary io",
        "raises exceptions whose messages hold escape sequences, a carriage return, a lone surrogate",
        lambda ctx: with_functions(**every_function(f'raise ValueError("{SPOOF}")')),
    ),
    Case(
        "spoofed_text_in_output",
        "boundary io",
        "prints a forged summary behind escape sequences; its functions are right",
        lambda ctx: after_all(
            f'print("{SPOOF_PRINTED}")\nprint("\\x1b[1A\\x1b[32mPASSED\\x1b[0m")'
        ),
    ),
    Case(
        "largest_replies",
        "boundary io",
        "every function answers with a 32 MiB array (just under the limit) sent past the encoder",
        lambda ctx: [
            *with_functions(
                **{
                    name: f"def {name}(*args, **kwargs):\n    flood(32 * 2**20 - 2**16)"
                    for name in HW.functions
                }
            ),
            src(FLOOD),
        ],
    ),
    Case(
        "deep_folders_left_behind",
        "boundary io",
        "leaves folders 1500 levels deep (bottom locked) in its scratch folders, and IPC objects",
        lambda ctx: after_all(assign(SHARED=ctx.shared_scratch) + src(DEEP)),
    ),
    Case(
        "links_to_decoy_left_behind",
        "boundary io",
        "leaves links to a decoy folder in its trees, and a process swapping a folder for one",
        lambda ctx: after_all(
            DAEMON, assign(SHARED=ctx.shared_scratch, DECOY=ctx.decoy_dir) + src(LINKS)
        ),
    ),
    Case(
        "reads_other_runs_files",
        "boundary io",
        "reads an earlier run's upload and results.json, both left in a folder others can enter",
        lambda ctx: after_all(
            assign(EARLIER_UPLOAD=ctx.earlier_upload, EARLIER_RESULTS=ctx.earlier_results)
            + src(READ_OTHERS)
        ),
    ),
    Case(
        "huge_error_messages",
        "boundary io",
        "errors described with 4 MiB of text each (16 MiB as strings), past the worker's cut",
        lambda ctx: [
            *with_functions(**every_function('raise ValueError("x")')),
            src(HUGE_ERRORS),
        ],
    ),
]

IPYTHON = [
    Case(
        "magics_beside_continuation_lines",
        "unusual",
        "magics and a shell escape beside `!=` and `%` at the start of continuation lines",
        lambda ctx: with_functions(softmax_loss=CONTINUATIONS),
    ),
]

CASES = [*BOUNDARY, *IPYTHON]
