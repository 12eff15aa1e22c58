"""Runaway code and early exits: loops, recursion, memory and fork bombs, processes left behind,
exits and signals of every kind. Each case is the reference (so the part a case leaves alone is
correct work) plus the trouble; see build_corpus.py."""

from __future__ import annotations

from corpus_kit import (
    DAEMON,
    Case,
    after_all,
    after_imports,
    with_functions,
)

RUNAWAY = [
    Case(
        "infinite_loop_at_import",
        "runaway",
        "a cell at import time loops forever (a training loop left untagged)",
        lambda ctx: after_imports("while True:\n    pass"),
    ),
    Case(
        "infinite_loop_in_function",
        "runaway",
        "softmax_loss never returns",
        lambda ctx: with_functions(
            softmax_loss="def softmax_loss(Z, y):\n    while True:\n        pass"
        ),
    ),
    Case(
        "deep_recursion",
        "runaway",
        "softmax_loss recurses without end (RecursionError)",
        lambda ctx: with_functions(
            softmax_loss="""
            def softmax_loss(Z, y, depth=0):
                return softmax_loss(Z, y, depth + 1)
            """
        ),
    ),
    Case(
        "stack_overflow",
        "runaway",
        "the gradient lifts the recursion limit and recurses through C frames (SIGSEGV)",
        lambda ctx: with_functions(
            softmax_regression_grad="""
            import sys


            def softmax_regression_grad(X, y, theta):
                sys.setrecursionlimit(10**8)

                def deeper(n):
                    return list(map(deeper, [n + 1]))  # each level also uses the C stack

                return deeper(0)
            """
        ),
    ),
    Case(
        "memory_bomb_at_import",
        "runaway",
        "a cell keeps allocating 16 MiB blocks, and keeps them, until memory runs out",
        lambda ctx: after_imports("hog = []\nwhile True:\n    hog.append(bytearray(2**24))"),
    ),
    Case(
        "memory_bomb_in_function",
        "runaway",
        "the gradient asks for 8 TiB",
        lambda ctx: with_functions(
            softmax_regression_grad="""
            def softmax_regression_grad(X, y, theta):
                return np.ones((2**40,)) @ np.ones((2**40,))
            """
        ),
    ),
    Case(
        "memory_bomb_across_processes",
        "runaway",
        "four children each hold 150 MiB (each under the limit) and tries to undo oom_score_adj",
        lambda ctx: after_all(
            """
            import os
            import time

            for _ in range(4):
                if os.fork() == 0:
                    block = bytearray(150 * 2**20)  # touched: really resident
                    while True:
                        time.sleep(1)
            for value in ("-1000", "0"):  # below 0 needs CAP_SYS_RESOURCE; back to 0 may work
                try:
                    with open("/proc/self/oom_score_adj", "w") as f:
                        f.write(value)
                except OSError as exc:
                    print(f"could not set oom_score_adj to {value}:", exc)
            with open("/proc/self/oom_score_adj") as f:
                print("oom_score_adj is now", f.read().strip())
            print("four children hold 150 MiB each")
            """
        ),
    ),
    Case(
        "fork_bomb",
        "runaway",
        "a cell forks without end",
        lambda ctx: after_imports("import os\nwhile True:\n    os.fork()"),
    ),
    Case(
        "fork_bomb_spinning",
        "runaway",
        "a cell forks until it cannot, and every process spins on",
        lambda ctx: after_imports(
            """
            import os
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
            """
        ),
    ),
    Case(
        "background_processes",
        "runaway",
        "starts `sleep 600`, a multiprocessing child and a double-forked daemon writing to /tmp",
        lambda ctx: after_all(
            DAEMON,
            """
            import multiprocessing
            import subprocess

            sleeper = subprocess.Popen(["sleep", "600"])
            multiprocessing.Process(target=time.sleep, args=(600,)).start()


            def heartbeat():
                while True:
                    with open("/tmp/dlhw-corpus-heartbeat", "a") as f:
                        f.write("x")
                    time.sleep(0.05)


            daemon(heartbeat)
            print("background processes started")
            """,
        ),
    ),
    Case(
        "ignores_sigterm",
        "runaway",
        "ignores SIGTERM/SIGINT/SIGHUP, leaves a sleeping child, a stopped one and a zombie",
        lambda ctx: after_all(
            """
            import os
            import signal
            import time

            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            if os.fork() == 0:
                while True:
                    time.sleep(1)
            if os.fork() == 0:
                os.kill(os.getpid(), signal.SIGSTOP)
                os._exit(0)
            if os.fork() == 0:
                os._exit(0)  # never waited for: a zombie
            print("ignoring SIGTERM, SIGINT and SIGHUP")
            """
        ),
    ),
]

EARLY_EXITS = [
    Case(
        "sys_exit_at_import",
        "early exit",
        "sys.exit(0) in a cell",
        lambda ctx: after_imports("import sys\nsys.exit(0)"),
    ),
    Case(
        "os_exit_at_import",
        "early exit",
        "os._exit(0) in a cell",
        lambda ctx: after_imports("import os\nos._exit(0)"),
    ),
    Case(
        "sys_exit_in_function",
        "early exit",
        "softmax_loss calls sys.exit(0)",
        lambda ctx: with_functions(
            softmax_loss="import sys\n\n\ndef softmax_loss(Z, y):\n    sys.exit(0)"
        ),
    ),
    Case(
        "os_exit_in_function",
        "early exit",
        "softmax_loss calls os._exit(0)",
        lambda ctx: with_functions(
            softmax_loss="import os\n\n\ndef softmax_loss(Z, y):\n    os._exit(0)"
        ),
    ),
    Case(
        "keyboard_interrupt",
        "early exit",
        "a cell sends itself SIGINT; the gradient raises KeyboardInterrupt",
        lambda ctx: after_imports(
            "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(1)",
            base=with_functions(
                softmax_regression_grad="""
                def softmax_regression_grad(X, y, theta):
                    raise KeyboardInterrupt
                """
            ),
        ),
    ),
    Case(
        "custom_base_exception",
        "early exit",
        "parse_mnist raises a BaseException subclass whose __str__ raises too",
        lambda ctx: with_functions(
            parse_mnist="""
            class Escape(BaseException):
                def __str__(self):
                    raise Escape()


            def parse_mnist(image_filename, label_filename):
                raise Escape()
            """
        ),
    ),
    Case(
        "close_grader_pipes",
        "early exit",
        "a cell closes every file descriptor but stdin/stdout/stderr",
        lambda ctx: after_imports("import os\nos.closerange(3, 4096)"),
    ),
    Case(
        "kill_grader",
        "early exit",
        "signals the grader: SIGKILL, SIGSTOP, and SIGKILL to its process group",
        lambda ctx: after_all(
            """
            import os
            import signal

            grader = os.getppid()
            attempts = {
                "SIGKILL to the grader": lambda: os.kill(grader, signal.SIGKILL),
                "SIGSTOP to the grader": lambda: os.kill(grader, signal.SIGSTOP),
                "SIGKILL to its group": lambda: os.killpg(os.getpgid(grader), signal.SIGKILL),
            }
            for what, attempt in attempts.items():
                try:
                    attempt()
                    print(what, "SUCCEEDED")
                except OSError as exc:
                    print(what, "failed:", exc)
            """
        ),
    ),
]

CASES = [*RUNAWAY, *EARLY_EXITS]
