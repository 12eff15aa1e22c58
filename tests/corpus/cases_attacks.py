"""Attacks: on the grader's files, process and state; deceptive results; abuse of output and
network. Each case is the reference (so the part a case leaves alone is correct work) plus the
attack; see build_corpus.py."""

from __future__ import annotations

from corpus_kit import (
    DAEMON,
    MARK,
    Case,
    after_all,
    after_imports,
    assign,
    every_function,
    src,
    with_functions,
)

FILES_AND_STATE = [
    Case(
        "write_results_json",
        "grader files",
        "writes a forged results.json where the grader writes it and in /autograder/results",
        lambda ctx: after_all(
            assign(RESULTS=ctx.results_path, MARK=MARK)
            + src(
                """
                import json
                import os

                forged = json.dumps({"score": 1000, "output": MARK, "tests": []})
                for path in (RESULTS, "/autograder/results/results.json"):
                    try:
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        with open(path, "w") as f:
                            f.write(forged)
                        print("wrote", path)
                    except OSError as exc:
                        print("could not write", path, "-", exc)
                """
            )
        ),
    ),
    Case(
        "rewrite_results_later",
        "grader files",
        "a daemon keeps rewriting results.json, to win after the grader wrote it",
        lambda ctx: after_all(
            DAEMON,
            assign(RESULTS=ctx.results_path, MARK=MARK)
            + src(
                """
                import json

                forged = json.dumps({"score": 1000, "output": MARK, "tests": []})


                def rewrite():
                    while True:
                        try:
                            with open(RESULTS, "w") as f:
                                f.write(forged)
                        except OSError:
                            pass
                        time.sleep(0.02)


                daemon(rewrite)
                try:
                    open(RESULTS, "w")
                except OSError as exc:
                    print("cannot write results.json:", exc)
                """
            ),
        ),
    ),
    Case(
        "rewrite_results_in_tmp",
        "grader files",
        "results go to /tmp (`-o /tmp/r.json`): pre-creates it, links it, and rewrites it",
        lambda ctx: after_all(
            DAEMON,
            assign(RESULTS=ctx.results_path, MARK=MARK)
            + src(
                """
                import json

                forged = json.dumps({"score": 1000, "output": MARK, "tests": []})
                try:  # /tmp is writable where the file allow-list (Landlock) is missing
                    with open(RESULTS, "w") as f:
                        f.write(forged)
                    os.symlink(RESULTS, RESULTS + ".link")
                    print("results in /tmp: forged", RESULTS)
                except OSError as exc:
                    print("results in /tmp: refused", RESULTS, type(exc).__name__)


                def rewrite():
                    while True:
                        try:
                            with open(RESULTS, "w") as f:
                                f.write(forged)
                        except OSError:
                            pass
                        time.sleep(0.02)


                daemon(rewrite)
                """
            ),
        ),
    ),
    Case(
        "overwrite_grader_files",
        "grader files",
        "appends to the grader's modules, hidden tests, conftest; drops a .pth and sitecustomize",
        lambda ctx: after_all(
            assign(MARK=MARK)
            + src(
                """
                import glob
                import os
                import sysconfig

                import dlhw.autograder
                from dlhw.autograder.homeworks import course_root

                package = dlhw.autograder.__path__[0]
                site = sysconfig.get_paths()["purelib"]
                targets = ["/autograder/run_autograder", *glob.glob(os.path.join(package, "*.py"))]
                targets += [
                    os.path.join(package, "evil.py"),
                    os.path.join(site, "dlhw-corpus.pth"),
                    os.path.join(site, "sitecustomize.py"),
                    str(course_root() / "solutions/hw1_softmax/tests/test_hidden.py"),
                    str(course_root() / "tests/conftest.py"),
                ]
                written, refused = [], None
                for target in targets:
                    try:
                        with open(target, "a") as f:
                            f.write("\\n# " + MARK + "\\n")
                        written.append(target)
                    except OSError as exc:
                        refused = exc
                print("WROTE", written if written else f"nothing: {refused}")
                """
            )
        ),
    ),
    Case(
        "symlink_in_worker_folder",
        "grader files",
        "plants symlinks in its own folder where the grader once put test data",
        lambda ctx: after_imports(
            assign(DECOY=ctx.decoy_dir)
            + src(
                """
                import os

                os.symlink(DECOY, "shared")
                for name in ("images-1-idx3-ubyte.gz", "labels-1-idx1-ubyte.gz"):
                    os.symlink(os.path.join(DECOY, "victim.txt"), name)
                print("links planted:", sorted(os.listdir(".")))
                """
            )
        ),
    ),
    Case(
        "read_hidden_tests",
        "grader files",
        "looks for the hidden tests and the reference: solutions/, git, /proc of the grader",
        lambda ctx: after_all(
            """
            import os
            import subprocess

            from dlhw.autograder.homeworks import course_root

            root = str(course_root())
            grader = os.getppid()
            leaks = []


            def read(path):
                try:
                    with open(path, "rb") as f:
                        if f.read(100):
                            leaks.append(path)
                except OSError:
                    pass


            for path in (
                root + "/solutions/hw1_softmax/tests/test_hidden.py",
                root + "/solutions/hw1_softmax/hw1_softmax.ipynb",
                root + "/.git/HEAD",
                "/autograder/source/solutions/hw1_softmax/tests/test_hidden.py",
                f"/proc/{grader}/environ",
                f"/proc/{grader}/maps",
                f"/proc/{grader}/mem",
                f"/proc/{grader}/cwd/solutions/hw1_softmax/tests/test_hidden.py",
                f"/proc/{grader}/root{root}/solutions/hw1_softmax/tests/test_hidden.py",
            ):
                read(path)
            for folder, dirs, files in os.walk(root):
                dirs[:] = [d for d in dirs if d not in (".venv", ".venv310", "build")]
                for name in files:
                    if name.startswith("test_hidden") or name == "hw1_softmax.ipynb":
                        if "/assignments/" not in folder + "/":  # the student's own stub
                            read(os.path.join(folder, name))
            git = ["git", "-c", "safe.directory=*", "-C", root, "show",
                   "HEAD:solutions/hw1_softmax/tests/test_hidden.py"]
            try:
                shown = subprocess.run(git, capture_output=True, timeout=20)
                if shown.returncode == 0 and shown.stdout:
                    leaks.append("git history")
            except OSError:
                pass
            print("LEAKED: " + ", ".join(leaks) if leaks else "nothing leaked")
            """
        ),
    ),
    Case(
        "walk_grader_memory",
        "grader files",
        "searches gc, the stack and sys.modules for tests, pytest or the grader's results",
        lambda ctx: after_all(
            """
            import gc
            import inspect
            import sys

            found = [m for m in sys.modules if "test_hidden" in m or m.split(".")[0] == "pytest"]
            found += [f.filename for f in inspect.stack() if "solutions" in f.filename]
            for obj in gc.get_objects():
                # A class can carry a `__code__` descriptor (a C function type): no filename.
                filename = getattr(getattr(obj, "__code__", None), "co_filename", None)
                if isinstance(filename, str) and "solutions" in filename:
                    found.append(filename)
                if isinstance(obj, dict) and "tests" in obj and "score" in obj:
                    found.append("a results dict")
            print("FOUND grader state: " + ", ".join(found[:5]) if found else "no grader state here")
            """
        ),
    ),
    Case(
        "leave_files_behind",
        "grader files",
        "leaves files, a fifo, a locked-down folder and IPC objects in every scratch folder",
        lambda ctx: after_all(
            assign(SHARED=ctx.shared_scratch)
            + src(
                """
                import ctypes
                import os

                left = 0
                for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", SHARED, "."):
                    try:
                        base = os.path.join(folder, f"dlhw-corpus-left-{os.getpid()}")
                        with open(base + ".txt", "w") as f:
                            f.write("left behind")
                        os.mkfifo(base + ".fifo")
                        os.makedirs(base + ".dir/inner")
                        with open(base + ".dir/inner/file", "w") as f:
                            f.write("x")
                        os.chmod(base + ".dir", 0)
                        left += 3
                    except OSError as exc:
                        print(folder, exc)
                libc = ctypes.CDLL(None, use_errno=True)
                ipc = [libc.shmget(0, 2**20, 0o1600), libc.semget(0, 1, 0o1600),
                       libc.msgget(0, 0o1600)]
                print(f"left {left} files and {sum(i >= 0 for i in ipc)} IPC objects")
                """
            )
        ),
    ),
]

# The always-wrong functions of deceptive cases: every test must fail whatever the trick.
ALWAYS_EQUAL = """
class AlwaysEqual:
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False
    __float__ = lambda self: 0.0
    __array_priority__ = 1000

    def __array__(self, dtype=None, copy=None):
        import numpy
        return numpy.zeros(())
"""

DECEPTIVE = [
    Case(
        "monkeypatch_test_machinery",
        "deceptive",
        "patches np.allclose, np.testing, pytest, unittest and torch in its process; wrong answers",
        lambda ctx: (
            with_functions(**every_function("return np.zeros(1)"))
            + [
                src(
                    """
                import unittest

                import numpy.testing
                import pytest

                np.allclose = lambda *a, **k: True
                np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast(a, b).shape, bool)
                np.array_equal = lambda *a, **k: True
                np.testing.assert_allclose = lambda *a, **k: None
                np.testing.assert_array_equal = lambda *a, **k: None
                pytest.approx = lambda expected, *a, **k: expected
                unittest.TestCase.assertEqual = lambda *a, **k: None
                print("patched numpy, pytest and unittest")
                """
                ),
                "import torch\ntorch.allclose = lambda *a, **k: True",
            ]
        ),
    ),
    Case(
        "always_equal_objects",
        "deceptive",
        "every function returns an object whose __eq__ is always True",
        lambda ctx: [*with_functions(**every_function("return AlwaysEqual()")), src(ALWAYS_EQUAL)],
    ),
    Case(
        "ndarray_subclass",
        "deceptive",
        "returns an ndarray subclass of zeros that claims equality and hijacks ufuncs",
        lambda ctx: [
            *with_functions(
                parse_mnist="""
                def parse_mnist(image_filename, label_filename):
                    with gzip.open(image_filename) as f:
                        n = struct.unpack(">4I", f.read(16))[1]
                    return np.zeros((n, 784), np.float32).view(Liar), np.zeros(n, np.uint8).view(Liar)
                """,
                softmax_loss="def softmax_loss(Z, y):\n    return np.zeros(()).view(Liar)",
                softmax_regression_grad="""
                def softmax_regression_grad(X, y, theta):
                    return np.zeros(theta.shape).view(Liar)
                """,
                softmax_regression_epoch="""
                def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                    return theta.copy().view(Liar)
                """,
            ),
            src(
                """
                class Liar(np.ndarray):
                    def __eq__(self, other):
                        return np.ones(np.shape(other), bool)

                    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                        return np.zeros(())

                    def __float__(self):
                        return 0.0
                """
            ),
        ],
    ),
    Case(
        "object_dtype_arrays",
        "deceptive",
        "returns object arrays of always-equal objects",
        lambda ctx: [
            *with_functions(**every_function("return np.array([AlwaysEqual()] * 3, dtype=object)")),
            src(ALWAYS_EQUAL),
        ],
    ),
    Case(
        "nan_and_inf",
        "deceptive",
        "returns NaN and inf (loss NaN, gradient inf, theta full of NaN)",
        lambda ctx: with_functions(
            parse_mnist="""
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename) as f:
                    n = struct.unpack(">4I", f.read(16))[1]
                return np.full((n, 784), np.nan, np.float32), np.full(n, 255, np.uint8)
            """,
            softmax_loss="def softmax_loss(Z, y):\n    return float('nan')",
            softmax_regression_grad=(
                "def softmax_regression_grad(X, y, theta):\n    return np.full(theta.shape, np.inf)"
            ),
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                return np.full(theta.shape, np.nan)
            """,
        ),
    ),
    Case(
        "wrong_shapes",
        "deceptive",
        "the gradient comes back transposed, (k, n) for (n, k); the epoch is right",
        lambda ctx: [
            *with_functions(
                softmax_regression_grad="""
                def softmax_regression_grad(X, y, theta):
                    return true_grad(X, y, theta).T
                """,
                softmax_regression_epoch="""
                def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                    for start in range(0, X.shape[0], batch):
                        Xb, yb = X[start : start + batch], y[start : start + batch]
                        theta -= lr * true_grad(Xb, yb, theta)
                """,
            ),
            src(
                """
                def true_grad(X, y, theta):
                    Z = X @ theta
                    S = np.exp(Z - Z.max(axis=1, keepdims=True))
                    S /= S.sum(axis=1, keepdims=True)
                    S[np.arange(X.shape[0]), y] -= 1
                    return X.T @ S / X.shape[0]
                """
            ),
        ],
    ),
    Case(
        "wrong_dtypes",
        "deceptive",
        "parse_mnist returns the right values as float64 and int64",
        lambda ctx: with_functions(
            parse_mnist="""
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename) as f:
                    _, n, rows, cols = struct.unpack(">4I", f.read(16))
                    X = np.frombuffer(f.read(), np.uint8).reshape(n, rows * cols) / 255.0
                with gzip.open(label_filename) as f:
                    f.read(8)
                    y = np.frombuffer(f.read(), np.uint8).astype(np.int64)
                return X, y
            """
        ),
    ),
    Case(
        "huge_return",
        "deceptive",
        "softmax_loss returns a 1 GiB array (a broadcast view of 8 bytes)",
        lambda ctx: with_functions(
            softmax_loss="""
            def softmax_loss(Z, y):
                return np.broadcast_to(np.float64(1.0), (2**27,))
            """
        ),
    ),
    Case(
        "generators",
        "deceptive",
        "every function is a generator function",
        lambda ctx: with_functions(**every_function("yield 0")),
    ),
    Case(
        "mutate_inputs_to_match",
        "deceptive",
        "zeroes its inputs so that oracles computed afterwards on shared arrays would agree",
        lambda ctx: with_functions(
            softmax_loss="""
            def softmax_loss(Z, y):
                Z[...] = 0.0  # equal logits: the true loss becomes log(k)
                return float(np.log(Z.shape[1]))
            """,
            softmax_regression_grad="""
            def softmax_regression_grad(X, y, theta):
                X[...] = 0.0  # zero data: the true gradient becomes 0
                return np.zeros(theta.shape, np.result_type(X, theta))
            """,
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                X[...] = 0.0  # zero data: the true epoch leaves theta as it is
            """,
        ),
    ),
    Case(
        "forged_protocol_frames",
        "deceptive",
        "patches the worker to answer with an object array, a pickle, and a 1 TiB header",
        lambda ctx: after_imports(
            *(
                assign(BODY=body)
                + src(
                    """
                    import os
                    import sys

                    protocol = sys.modules["dlhw.autograder.wire.protocol"]


                    def forged(self, message):
                        header = BODY.encode()
                        size = 2**40 if "huge" in BODY else len(header)
                        os.write(self.write_fd, protocol.HEADER.pack(size) + header + bytes(8))


                    protocol.Channel.send = forged
                    """
                )
                for body in (
                    '{"body": {"__ndarray__": 0, "dtype": "|O", "shape": [1], "scalar": false},'
                    ' "buffers": [8]}',
                    '{"body": {"__pickle__": "gASVAAAAAAAAAAB9lC4="}, "buffers": []}',
                    '{"body": "huge", "buffers": []}',
                )
            )
        ),
    ),
]

OUTPUT_AND_NETWORK = [
    Case(
        "forged_pass_output",
        "output",
        "prints forged PASSED lines, a forged results JSON, ANSI codes, NULs and bad UTF-8",
        lambda ctx: (
            with_functions(**every_function("raise NotImplementedError"))
            + [
                src(
                    """
                import json
                import os
                import sys

                for i in range(1, 24):
                    print(f"tests/test_hidden.py::test_{i} PASSED")
                print("23 passed in 0.01s\\nTOTAL 31/31")
                print(json.dumps({"score": 31, "tests": [{"name": "all", "score": 31}]}))
                sys.stderr.write("\\x1b[32mPASSED\\x1b[0m \\x00\\x00 score: 31\\n")
                os.write(1, b"\\xff\\xfe not utf-8 \\xc3\\x28\\n")
                """
                )
            ]
        ),
    ),
    Case(
        "print_1gb",
        "output",
        "writes 1 GiB to stdout (and a little to stderr)",
        lambda ctx: after_all(
            """
            import sys

            block = "x" * 2**20
            for _ in range(1024):
                sys.stdout.write(block)
            sys.stderr.write("done printing")
            """
        ),
    ),
    Case(
        "network_connection",
        "network",
        "connects to a port the test listens on: TCP, UDP, IPv6, raw, a child process, int 0x80",
        lambda ctx: after_all(
            assign(PORT=ctx.listen_port)
            + src(
                """
                import ctypes
                import mmap
                import platform
                import socket
                import subprocess
                import sys

                results = {}


                def attempt(what, action):
                    try:
                        action()
                        results[what] = "CONNECTED"
                    except OSError as exc:
                        results[what] = str(exc)


                attempt("tcp", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
                attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                attempt("ipv6", lambda: socket.socket(socket.AF_INET6))
                attempt("raw", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
                child = subprocess.run(
                    [sys.executable, "-c",
                     f"import socket; socket.create_connection(('127.0.0.1', {PORT}), timeout=2)"],
                    capture_output=True, text=True,
                )
                results["child"] = child.stderr.strip().splitlines()[-1:] or "CONNECTED"
                if platform.machine() == "x86_64":  # the i386 socket() through int 0x80
                    code = bytes([0xB8, 0x67, 1, 0, 0, 0xBB, 2, 0, 0, 0, 0xB9, 1, 0, 0, 0,
                                  0x31, 0xD2, 0xCD, 0x80, 0xC3])
                    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
                    page.write(code)
                    addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
                    fd = ctypes.CFUNCTYPE(ctypes.c_int)(addr)()
                    if fd >= 0:
                        attempt("int 0x80", lambda: socket.socket(fileno=fd).connect(("127.0.0.1", PORT)))
                    else:
                        results["int 0x80"] = f"socket() returned {fd}"
                for what, result in results.items():
                    print(f"{what}: {result}")
                """
            )
        ),
    ),
    Case(
        "disk_fill",
        "output",
        "writes 60 MiB files in every scratch folder, then one file over the 64 MiB limit",
        lambda ctx: after_all(
            """
            import os

            for folder in (".", "/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
                for i in range(2):
                    try:
                        with open(os.path.join(folder, f"dlhw-corpus-fill-{i}"), "wb") as f:
                            f.write(bytes(60 * 2**20))
                    except OSError as exc:
                        print(folder, exc)
            """,
            """
            with open("too-big", "wb") as f:
                for _ in range(100):
                    f.write(bytes(2**20))
            """,
        ),
    ),
]

CASES = [*FILES_AND_STATE, *DECEPTIVE, *OUTPUT_AND_NETWORK]
