"""Check your homework on your own machine: run the public tests on the functions in your notebook.

In the notebook (or a plain Python script that defines the functions):

    from selfcheck import check
    check("softmax_loss")     # the public tests that use softmax_loss
    check()                   # every public test

Each test prints PASS or FAIL, and a failure says what differs, in the same words the autograder
uses. Needs only NumPy and the files next to this one (public_tests.py); no internet, no PyTorch.
Your functions run here, in your own Python, on copies of the tests' arrays. The autograder runs
many more (hidden) tests: passing these is a start, not a guarantee.

This file is copied, unchanged, next to every homework's stub (the course's copy lives in
dlhw/autograder/selfcheck.py); it imports nothing from the grader.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import sys
import tempfile
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS_FILE = "public_tests.py"


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
    code = tb.tb_frame.f_code
    return getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+


def _explain(name: str, exc: BaseException) -> str:
    """The autograder's wording for a function that raised."""
    if isinstance(exc, NotImplementedError):
        return f"{name} is not implemented yet (it raised NotImplementedError)"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    tb = "".join(
        traceback.format_list(frames[-5:]) + traceback.format_exception_only(type(exc), exc)
    )
    return f"{name} raised {type(exc).__name__}: {exc}\n\n{tb.strip()}"


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
    if importlib.util.find_spec("pytest") is None and "pytest" not in sys.modules:
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


def run_checks(
    name: str | None = None, namespace: dict[str, Any] | None = None, folder: Path = HERE
) -> list[Outcome]:
    """Run the public tests (those that use `name`, or all) on `namespace` (default: __main__)."""
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    module = _load_tests(folder)
    used = functions_used((folder / TESTS_FILE).read_text(encoding="utf-8"))
    known = sorted(set().union(*used.values())) if used else []
    if name is not None and name not in known:
        raise ValueError(f"no public test uses {name!r}; the tests check: {', '.join(known)}")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as scratch:
        sub = LocalSubmission(namespace, Path(scratch))
        for test, names in used.items():
            if name is not None and name not in names:
                continue
            func = getattr(module, test)
            title = (inspect.getdoc(func) or test).splitlines()[0]
            try:
                func(sub)
            except AssertionError as exc:  # the test's own message, or the function's failure
                outcomes.append(Outcome(test, title, False, str(exc).strip() or "a check failed"))
            except NotImplementedError as exc:  # a method of your object (functions are wrapped)
                outcomes.append(Outcome(test, title, False, _explain(_raiser(exc), exc)))
            except Exception as exc:  # noqa: BLE001 - e.g. a wrong shape breaking the test
                outcomes.append(Outcome(test, title, False, f"{type(exc).__name__}: {exc}"))
            else:
                outcomes.append(Outcome(test, title, True))
    return outcomes


def check(name: str | None = None, namespace: dict[str, Any] | None = None) -> bool:
    """Print PASS/FAIL for each public test of `name` (default: all); True when all pass."""
    outcomes = run_checks(name, namespace)
    for o in outcomes:
        print(f"{'PASS' if o.passed else 'FAIL'}  {o.title}")
        if not o.passed:
            print("      " + o.message.replace("\n", "\n      "))
    passed = sum(o.passed for o in outcomes)
    what = f"for {name}" if name else "in all"
    print(f"{passed}/{len(outcomes)} public tests passed {what}.")
    return passed == len(outcomes)


if __name__ == "__main__":  # python selfcheck.py my_solutions.py [name]
    if len(sys.argv) < 2:
        sys.exit("usage: python selfcheck.py FILE.py|FILE.ipynb [FUNCTION]")
    source_path = Path(sys.argv[1])
    if source_path.suffix == ".ipynb":
        import json

        cells = json.loads(source_path.read_text(encoding="utf-8"))["cells"]
        code = "\n\n".join(
            "".join(c["source"])
            for c in cells
            if c["cell_type"] == "code"
            and "skip-grading" not in c.get("metadata", {}).get("tags", [])
        )
    else:
        code = source_path.read_text(encoding="utf-8")
    student: dict[str, Any] = {"__name__": "student"}
    exec(compile(code, str(source_path), "exec"), student)  # noqa: S102 - your own code
    ok = check(sys.argv[2] if len(sys.argv) > 2 else None, student)
    sys.exit(0 if ok else 1)
