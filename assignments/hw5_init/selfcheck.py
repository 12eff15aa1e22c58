"""Check your homework on your own machine: run the public tests on the functions in your notebook.

In the notebook (or a plain Python script that defines the functions):

    from selfcheck import check
    check("softmax_loss")     # the public tests that use softmax_loss
    check()                   # every public test

Each test prints PASS or FAIL, and a failure says what differs, in the same words the autograder
uses. Needs only NumPy and the files next to this one (public_tests.py); no internet, no PyTorch.
Your functions run here, in your own Python, on copies of the tests' arrays. The autograder runs
many more (hidden) tests: passing these is a start, not a guarantee.

From a shell, `python selfcheck.py NOTEBOOK.ipynb` runs the notebook's graded cells (those not
tagged skip-grading) one by one, as the autograder does: a cell that fails is reported and the
others still run. It also warns about imports the autograder does not have (it runs your graded
cells with NumPy and the standard library only).

This file is copied, unchanged, next to every homework's stub (the course's copy lives in
dlhw/autograder/selfcheck.py); it imports nothing from the grader.
"""

from __future__ import annotations
import __future__

import ast
import copy
import importlib.util
import inspect
import linecache
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS_FILE = "public_tests.py"
SKIP_TAG = "skip-grading"
# One public test makes a few calls; the autograder stops each call after 10 s (its default
# --call-timeout). A test still running after 30 s is stopped here and reported as a likely
# infinite loop; on Windows, or outside the main thread, there is no timer and Ctrl-C stops it.
TEST_TIMEOUT_S = 30
GRADER_CALL_TIMEOUT_S = 10
# The autograder stops a graded cell after 30 s (its default cell limit) and leaves it out whole:
# nothing the cell defines exists for the tests. A cell slower than this here is said to be at
# risk (Gradescope's one CPU may be slower than yours).
GRADER_CELL_TIMEOUT_S = 30
SLOW_CELL_S = 10
# What the autograder's Python has for graded cells, besides the standard library (not this
# file: a graded cell that imports selfcheck stops there on Gradescope, and its later lines
# never run).
AVAILABLE = frozenset({"numpy", "dlhw"})
# The compiler flags of every __future__ feature (a cell's import of one holds for later cells).
_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


class StudentError(AssertionError):
    """Your function could not give an answer (the autograder reports it the same way)."""


@dataclass(frozen=True)
class CallResult:
    value: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def _raiser(exc: BaseException) -> str:
    """The name of the function or method that raised `exc` (its innermost frame)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "your code"
    return _frame_name(tb.tb_frame)


def _frame_name(frame: types.FrameType) -> str:
    """How the autograder names the method that ran in `frame`: after the class of the object
    it was called on ("Sigmoid.forward" for a forward that Sigmoid inherits), as on every Python
    (co_qualname, 3.11+, would name the class that defines it, and 3.10 has none); a static
    method after the class that defines it. Anything else (a function, a closure) by its
    qualified name where Python has one (3.11+), else by its name."""
    code = frame.f_code
    try:
        if code.co_argcount and code.co_varnames[0] in frame.f_locals:
            owner = frame.f_locals[code.co_varnames[0]]  # self, or cls of a classmethod
            cls = owner if issubclass(type(owner), type) else type(owner)
            found = inspect.getattr_static(cls, code.co_name, None)
            if getattr(getattr(found, "__func__", found), "__code__", None) is code:
                return f"{type.__dict__['__name__'].__get__(cls)}.{code.co_name}"
        for value in list(frame.f_globals.values()):  # a static method: the class defining it
            if issubclass(type(value), type):
                found = value.__dict__.get(code.co_name)
                if getattr(getattr(found, "__func__", found), "__code__", None) is code:
                    return f"{type.__dict__['__name__'].__get__(value)}.{code.co_name}"
    except Exception:  # noqa: BLE001 - an odd object only loses the class in the name
        pass
    return str(getattr(code, "co_qualname", code.co_name))  # co_qualname: Python 3.11+


def _text(exc: BaseException) -> str:
    """str(exc), or a stand-in when its __str__ fails (as the autograder's worker says it)."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not stop the check
        return "<unprintable exception>"


class _TimeLimit(BaseException):
    """A test ran past TEST_TIMEOUT_S. A BaseException, so that an `except Exception` in the code
    under test cannot swallow it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _running(exc: BaseException, folder: Path) -> str:
    """The innermost function of your code that `exc` went through (not this file's, nor the
    public tests')."""
    ours = {__file__, str(folder / TESTS_FILE)}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename not in ours]
    return frames[-1].name if frames else "your code"


def _explain(name: str, exc: BaseException, start: types.TracebackType | None = None) -> str:
    """The autograder's wording for a function that raised (its traceback from `start` on)."""
    if isinstance(exc, NotImplementedError):
        return f"{name} is not implemented yet (it raised NotImplementedError)"
    frames = [f for f in traceback.extract_tb(start or exc.__traceback__) if f.filename != __file__]
    tb = "".join(
        traceback.format_list(frames[-5:]) + traceback.format_exception_only(type(exc), exc)
    )
    return f"{name} raised {type(exc).__name__}: {_text(exc)}\n\n{tb.strip()}"


# The autograder names an operator by its symbol and the class it was used on ("`*` on Value"),
# whichever of __mul__ and __rmul__ ran (dlhw/autograder/proxies.py, SYMBOLS).
_SYMBOLS = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
    "pow": "**", "matmul": "@", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
    "neg": "unary -", "pos": "unary +", "abs": "abs()",
}  # fmt: skip


def _grader_name(name: str) -> str:
    """`name` ("Value.__rmul__") as the autograder says it ("`*` on Value")."""
    cls, _, method = name.rpartition(".")
    op = method[2:-2] if len(method) > 4 and method[:2] == method[-2:] == "__" else ""
    if op not in _SYMBOLS and op[:1] == "r":
        op = op[1:]
    return f"`{_SYMBOLS[op]}` on {cls}" if cls and op in _SYMBOLS else name


def _called(
    exc: BaseException, namespace: dict[str, Any]
) -> tuple[str, types.TracebackType] | None:
    """The method of your object that a public test called and `exc` came out of (the first
    frame of code defined in `namespace`), and the traceback from there; None when the test's
    own code failed. Functions are wrapped (LocalFunction); methods are called directly."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is not namespace:
        tb = tb.tb_next
    if tb is None:
        return None
    return _grader_name(_frame_name(tb.tb_frame)), tb


class LocalFunction:
    def __init__(self, namespace: dict[str, Any], name: str) -> None:
        self.namespace, self.name = namespace, name

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallResult:
        func = self.namespace.get(self.name)
        if func is None:
            raise StudentError(
                f"{self.name} is not defined in your notebook (check the name and that its cell ran)"
            )
        if not callable(func):
            raise StudentError(
                f"{self.name} should be a function, but it is a {type(func).__name__}"
            )
        # Copies, as in the autograder: your function never changes the test's own arrays.
        args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        try:
            value = func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported like the autograder does
            raise StudentError(_explain(self.name, exc)) from None
        return CallResult(value, tuple(args), dict(kwargs))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(args, kwargs).value

    def with_args(self, *args: Any, **kwargs: Any) -> CallResult:
        return self._call(args, kwargs)

    def timed(self, timeout_s: float) -> LocalFunction:
        return self


class LocalSubmission:
    """What the public tests call `sub`: here, the functions of your own namespace."""

    def __init__(self, namespace: dict[str, Any], scratch: Path) -> None:
        self._namespace, self._scratch = namespace, scratch

    def __getattr__(self, name: str) -> LocalFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return LocalFunction(self._namespace, name)

    def put_file(self, name: str, data: bytes) -> str:
        path = self._scratch / Path(name).name
        path.write_bytes(data)
        return str(path)

    def function(self, name: str) -> LocalFunction:
        return LocalFunction(self._namespace, name)


def _pytest_stand_in() -> types.ModuleType:
    """Enough of pytest for the public tests' decorators, when pytest is not installed."""
    fake = types.ModuleType("pytest")

    class _Mark:
        def __getattr__(self, _name: str) -> Any:
            def marker(*args: Any, **kwargs: Any) -> Any:
                if len(args) == 1 and callable(args[0]) and not kwargs:
                    return args[0]
                return lambda func: func

            return marker

    fake.mark = _Mark()  # type: ignore[attr-defined]
    return fake


def _load_tests(folder: Path) -> types.ModuleType:
    path = folder / TESTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{TESTS_FILE} is not next to selfcheck.py ({folder})")
    # sys.modules first: find_spec raises ValueError for the stand-in a previous check put there
    # (its __spec__ is None), and the stub notebook runs check once per function, then check().
    if "pytest" not in sys.modules and importlib.util.find_spec("pytest") is None:
        sys.modules["pytest"] = _pytest_stand_in()
    spec = importlib.util.spec_from_file_location("public_tests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def functions_used(source: str) -> dict[str, set[str]]:
    """Test name -> the names it reaches through `sub.` (how tests say what they check)."""
    used: dict[str, set[str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            used[node.name] = {
                n.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "sub"
                and n.attr not in ("put_file", "function")
            }
    return used


@dataclass(frozen=True)
class Outcome:
    test: str
    title: str
    passed: bool
    message: str = ""


def iter_checks(
    name: str | None = None, namespace: dict[str, Any] | None = None, folder: Path = HERE
) -> Iterator[Outcome]:
    """Run the public tests (those that use `name`, or all) on `namespace` (default: __main__),
    giving each outcome as soon as its test is done."""
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    module = _load_tests(folder)
    used = functions_used((folder / TESTS_FILE).read_text(encoding="utf-8"))
    _check_name(name, used)
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as scratch:
        sub = LocalSubmission(namespace, Path(scratch))
        hung: set[str] = set()  # functions that ran past the limit: not run again
        for test, names in used.items():
            if name is not None and name not in names:
                continue
            func = getattr(module, test)
            title = (inspect.getdoc(func) or test).splitlines()[0]
            if names & hung:
                stuck = ", ".join(sorted(names & hung))
                yield Outcome(test, title, False, (
                    f"not run: {stuck} ran past the time limit in a test above"
                ))  # fmt: skip
                continue
            try:
                with _time_limit(TEST_TIMEOUT_S):
                    func(sub)
            except _TimeLimit as exc:
                running = _running(exc, folder)
                hung |= {running} if running in names else names
                yield Outcome(test, title, False, (
                    f"{running} was still running after {TEST_TIMEOUT_S} s; is there"
                    " an infinite loop, or a Python loop over every element? (The autograder"
                    f" stops each call of your functions after {GRADER_CALL_TIMEOUT_S} s.)"
                ))  # fmt: skip
            except AssertionError as exc:  # the test's own message, or the function's failure
                yield Outcome(test, title, False, _text(exc).strip() or "a check failed")
            except NotImplementedError as exc:  # a method of your object (functions are wrapped)
                called = _called(exc, namespace)
                yield Outcome(
                    test, title, False, _explain(called[0] if called else _raiser(exc), exc)
                )
            except Exception as exc:  # noqa: BLE001 - reported like the autograder does
                called = _called(exc, namespace)
                if called is not None:  # a method of your object raised
                    yield Outcome(test, title, False, _explain(called[0], exc, called[1]))
                else:  # the test's own code failed, e.g. on an answer of a wrong shape
                    yield Outcome(test, title, False, f"{type(exc).__name__}: {_text(exc)}")
            else:
                yield Outcome(test, title, True)


def _check_name(name: str | None, used: dict[str, set[str]]) -> None:
    """A ValueError, listing the names the tests use, for a `name` no public test uses."""
    known = sorted(set().union(*used.values())) if used else []
    if name is not None and name not in known:
        raise ValueError(f"no public test uses {name!r}; the tests check: {', '.join(known)}")


def run_checks(
    name: str | None = None, namespace: dict[str, Any] | None = None, folder: Path = HERE
) -> list[Outcome]:
    """Every outcome of `iter_checks`, as a list."""
    return list(iter_checks(name, namespace, folder))


def check(name: str | None = None, namespace: dict[str, Any] | None = None) -> bool:
    """Print PASS/FAIL for each public test of `name` (default: all); True when all pass."""
    outcomes = []
    for o in iter_checks(name, namespace):  # printed as they come: a slow test shows where
        print(f"{'PASS' if o.passed else 'FAIL'}  {o.title}", flush=True)
        if not o.passed:
            print("      " + o.message.replace("\n", "\n      "), flush=True)
        outcomes.append(o)
    passed = sum(o.passed for o in outcomes)
    what = f"for {name}" if name else "in all"
    print(f"{passed}/{len(outcomes)} public tests passed {what}.")
    return passed == len(outcomes)


def notebook_cells(path: Path) -> list[tuple[int, str]]:
    """The graded code cells of a notebook (not tagged skip-grading), with their position among
    all its cells (0-based), as the autograder numbers them."""
    import json

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        (index, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for index, c in enumerate(cells)
        if c.get("cell_type") == "code" and SKIP_TAG not in c.get("metadata", {}).get("tags", [])
    ]


def _without_magics(source: str) -> str | None:
    """A cell's IPython lines (`%matplotlib inline`, `!pip ...`) made `pass`, with the
    autograder's own code (dlhw/autograder/worker/magics.py, beside this file in the handout);
    None for a cell magic that is not Python (%%bash ...), a cell the autograder skips."""
    try:
        from dlhw.autograder.worker.magics import neutralise_ipython
    except ImportError:
        raise ImportError(
            "the self-check needs the dlhw/ folder of the handout next to selfcheck.py "
            "(it holds the code that turns IPython lines into Python, as the autograder does)"
        ) from None
    return neutralise_ipython(source)


def _first_line(source: str) -> str:
    return next((ln.strip() for ln in source.splitlines() if ln.strip()), "")[:60]


def run_cells(cells: list[tuple[int, str]], namespace: dict[str, Any]) -> list[str]:
    """Run each cell in `namespace`, as the autograder does (a failing cell is reported and the
    others still run); what went wrong, one entry per failing cell. Tracebacks name cells
    `<cell N>` (counting every cell from 1) and show their lines."""
    problems = []
    # Each cell is compiled with the __future__ imports of the cells before it, as in Jupyter,
    # and without this file's own (dont_inherit).
    future = 0
    for index, source in cells:
        filename = f"<cell {index + 1}>"
        try:
            try:
                code = compile(source, filename, "exec", flags=future, dont_inherit=True)
            except SyntaxError:
                python = _without_magics(source)
                if python is None:
                    continue  # a cell magic that is not Python: the autograder skips it too
                # Still a SyntaxError: report that one.
                code = compile(python, filename, "exec", flags=future, dont_inherit=True)
                source = python
            future |= code.co_flags & _FUTURE_FLAGS
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            started = time.monotonic()
            try:
                exec(code, namespace)  # noqa: S102 - your own code
            finally:
                took = time.monotonic() - started
                if took > SLOW_CELL_S:
                    problems.append(
                        f"cell {index + 1} (`{_first_line(source)}`) took {took:.0f} s here: the"
                        f" autograder stops a graded cell after {GRADER_CELL_TIMEOUT_S} s and"
                        " leaves it out whole, so that nothing it defines exists for the tests."
                        " Keep slow code (training, experiments) in cells tagged skip-grading."
                    )
        except Exception as exc:  # noqa: BLE001 - reported, as the autograder does
            frames = [
                f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")
            ]
            tb = "".join(
                traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
            )
            problems.append(
                f"cell {index + 1} (`{_first_line(source)}`) raised an exception:\n{tb.rstrip()}"
            )
    return problems


def unavailable_imports(cells: list[tuple[int, str]]) -> list[str]:
    """Modules that graded cells import and the autograder does not have (it runs graded cells
    with NumPy and the standard library only), as 'cell N imports M'."""
    found = []
    for index, source in cells:
        python = _without_magics(source)
        try:
            tree = ast.parse(python or "")
        except SyntaxError:
            continue  # reported when the cell runs
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for module in names:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in AVAILABLE:
                    found.append(f"cell {index + 1} imports {module}")
    return list(dict.fromkeys(found))


def main(argv: list[str]) -> int:
    """`python selfcheck.py FILE.ipynb|FILE.py [FUNCTION]`: 0 when every public test passes."""
    if not argv:
        print("usage: python selfcheck.py FILE.ipynb|FILE.py [FUNCTION]", file=sys.stderr)
        return 2
    source_path = Path(argv[0])
    name = argv[1] if len(argv) > 1 else None
    # A wrong path or name is said before any cell runs, in one line rather than a traceback.
    if not source_path.is_file():
        print(f"selfcheck: {source_path} is not a file (give the notebook's path)", file=sys.stderr)
        return 2
    tests = HERE / TESTS_FILE
    if name is not None and tests.is_file():
        try:
            _check_name(name, functions_used(tests.read_text(encoding="utf-8")))
        except ValueError as exc:
            print(f"selfcheck: {exc}", file=sys.stderr)
            return 2
    if source_path.suffix == ".ipynb":
        cells = notebook_cells(source_path)
    else:
        cells = [(0, source_path.read_text(encoding="utf-8"))]
    for line in unavailable_imports(cells):
        print(
            f"WARNING  {line}, which the autograder does not have: it runs your graded cells"
            " with NumPy and the standard library only (import it in a cell tagged"
            " skip-grading, or do without)."
        )
    student: dict[str, Any] = {"__name__": "student"}
    problems = run_cells(cells, student)
    if problems:
        print("Problems while running your notebook (the other cells still ran):")
        for problem in problems:
            print("  - " + problem.replace("\n", "\n      "))
    return 0 if check(name, student) else 1


if __name__ == "__main__":  # python selfcheck.py my_solutions.ipynb [name]
    sys.exit(main(sys.argv[1:]))
