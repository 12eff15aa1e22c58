"""The untrusted side: runs a submission's cells, then answers calls of its functions.

Started by `confinement.spawn_worker` as `python -I -m dlhw.autograder.worker`. It confines itself
before it reads any student code, then serves requests on its channel:

    {"op": "run_cell", "index": i, "source": str}       -> {"ok": true, "error": null | {...}}
                                  (a cell magic that is not Python: {"ok": true, "skipped": true})
    {"op": "compile_cell", "index": i, "source": str}   -> {"ok": true} (its __future__ imports
                                  hold for later cells; it is not run: a replayed dropped cell)
    {"op": "call", "name": f, "args": [...], "kwargs": {...}, "return_args": bool}
                                                         -> {"ok": true, "value": v, "args"?: [...]}
    {"op": "defined", "names": [...]}                    -> {"ok": true, "value": {name: kind}}
    {"op": "objects", ...} and {"op": "release"}: student objects kept by id (object_table.py)

Everything here runs in the student's process, so nothing here is trusted by the grader: replies are
plain data the grader validates. Student output goes to stdout, which the grader drains and caps.
"""

from __future__ import annotations
import __future__

import argparse
import functools
import importlib.util
import linecache
import os
import sys
import types
import warnings
from typing import Any

from dlhw.autograder.wire.protocol import Channel, ProtocolError
from dlhw.autograder.worker.limits import (
    EXIT_OUT_OF_MEMORY,
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
    confine_self,
)
from dlhw.autograder.worker.magics import neutralise_ipython
from dlhw.autograder.worker.object_table import ObjectTable, describe_error

_error = describe_error
SKIPPED: dict[str, Any] = {}  # run_cell: the cell's magic is not Python (%%bash); not run
_FUTURE_FLAGS = 0  # the compiler flags of every __future__ feature
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


class Worker:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.pid = os.getpid()
        # The notebook's namespace is the __dict__ of sys.modules["__main__"], as in Jupyter:
        # what looks a class's module up by name (dataclasses resolving a string annotation
        # `ClassVar[dict]`, pickle) finds the notebook's own names, not this package's.
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = __builtins__
        sys.modules["__main__"] = main
        self.namespace: dict[str, Any] = main.__dict__
        self.objects = ObjectTable(self.namespace)
        self.future_flags = 0  # __future__ imports of the cells so far (see compile_cell)
        self.cell_warnings: list[str] = []  # the SyntaxWarnings of the cell compiled last

    def serve(self) -> None:
        while True:
            try:
                request = self.channel.receive()
            except EOFError:
                return
            reply = self.handle(request)
            if os.getpid() != self.pid:
                # A copy made by os.fork() in student code came back here: only the worker
                # answers, or the grader would read one reply per copy.
                os._exit(0)
            try:
                self.channel.send(reply)
            except (ProtocolError, MemoryError) as exc:
                message = str(exc) or "it is too large to send (out of memory)"
                self.channel.send({"ok": False, "error": {"type": "BadReturn", "message": message}})

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "run_cell":
            self.cell_warnings = []
            error = self.run_cell(request["index"], request["source"])
            if error is SKIPPED:
                return {"ok": True, "skipped": True}
            if self.cell_warnings:
                return {"ok": True, "error": error, "warnings": self.cell_warnings}
            return {"ok": True, "error": error}
        if op == "compile_cell":
            self.compile_only(request["source"], f"<cell {request['index'] + 1}>")
            return {"ok": True}
        if op == "call":
            return self.call(request)
        if op == "defined":
            return {"ok": True, "value": {n: self.kind(n) for n in request["names"]}}
        if op == "objects":
            try:
                return self.objects.run(request)
            finally:
                sys.stdout.flush()
        if op == "release":
            try:
                return self.objects.release()
            finally:
                sys.stdout.flush()
        return {"ok": False, "error": {"type": "ProtocolError", "message": f"unknown op {op!r}"}}

    def run_cell(self, index: int, source: str) -> dict[str, Any] | None:
        """The cell's error (None when it ran to the end), or SKIPPED."""
        filename = f"<cell {index + 1}>"
        self.objects.thaw_world()  # what the cell drops is collected as the notebook's garbage
        try:
            compiled = self.compile_notebook_cell(source, filename)
            if compiled is None:
                return SKIPPED
            code, source = compiled
            # Tracebacks show the cell's own lines (as in Jupyter), not only "line 3"; an mtime
            # of None keeps linecache.checkcache from dropping the entry.
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(code, self.namespace)  # noqa: S102 - running the submission is this process's job
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt are contained too
            return _error(exc)
        finally:
            sys.stdout.flush()
        return None

    def compile_notebook_cell(
        self, source: str, filename: str
    ) -> tuple[types.CodeType, str] | None:
        """A cell's code and the source it was compiled from: as written, else with its IPython
        syntax neutralised (magics, shell escapes); None for a cell magic that is not Python.
        A SyntaxError of the neutralised source is raised."""
        try:
            return self.compile_cell(source, filename), source
        except SyntaxError:
            python = neutralise_ipython(source)
            if python is None:
                return None
            return self.compile_cell(python, filename), python

    def compile_only(self, source: str, filename: str) -> None:
        """Compile a cell without running it, for its __future__ imports: a cell that was
        compiled and then dropped (it hung or crashed the worker) still set them for the cells
        after it, as in Jupyter, and a replay must compile those cells the same way."""
        try:
            self.compile_notebook_cell(source, filename)
        except Exception:  # noqa: BLE001, S110 - it did not compile the first time either
            pass

    def compile_cell(self, source: str, filename: str) -> types.CodeType:
        """Compile a cell as Jupyter does (IPython's compiler is a `codeop.Compile`): with the
        __future__ imports of the cells before it, and none of this module's own
        (`dont_inherit`: its `from __future__ import annotations` made every annotation a string,
        and a dataclass with a ClassVar dict failed only here). A notebook whose first cell says
        `from __future__ import annotations` may annotate a method with its own class later."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SyntaxWarning)
            code = compile(source, filename, "exec", flags=self.future_flags, dont_inherit=True)
        # Python's warnings about the cell's code ('"is" with a literal'), which Jupyter shows
        # under the cell: reported with the cell, since what it prints may stay hidden.
        self.cell_warnings = [
            f"line {w.lineno}: {w.message}"[:MAX_WARNING_CHARS]
            for w in caught
            if issubclass(w.category, SyntaxWarning)
            and not str(w.message).startswith("invalid escape sequence")  # LaTeX in a string
        ][:MAX_WARNINGS]
        self.future_flags |= code.co_flags & _FUTURE_FLAGS
        return code

    def kind(self, name: str) -> str:
        if name not in self.namespace:
            return "missing"
        obj = self.namespace[name]
        return "function" if callable(obj) else type(obj).__name__[:100]

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["name"]
        func = self.namespace.get(name)
        if func is None:
            return {
                "ok": False,
                "error": {"type": "NotDefined", "message": f"{name} is not defined"},
            }
        if not callable(func):
            return {
                "ok": False,
                "error": {"type": "NotCallable", "message": f"{name} is a {type(func).__name__}"},
            }
        args, kwargs = list(request["args"]), dict(request["kwargs"])
        try:
            value = func(*args, **kwargs)
            if isinstance(value, types.GeneratorType):
                value.close()
                return {
                    "ok": False,
                    "error": {"type": "BadReturn", "message": "returned a generator, not a value"},
                }
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, "error": _error(exc)}
        finally:
            sys.stdout.flush()
        reply: dict[str, Any] = {"ok": True, "value": value}
        if request.get("return_args"):
            reply["args"] = args
            reply["kwargs"] = kwargs
        return reply


class DeniedImports:
    """A finder first on sys.meta_path: graded code importing a denied package (view.py's
    DENIED_PACKAGES) gets a ModuleNotFoundError saying so. Student code can remove it; where
    the worker has a view, the packages' folders are empty as well. An absent one (view.py's
    ABSENT_PACKAGES: beside the grader here, never on Gradescope) is missing, as there."""

    def __init__(self, names: frozenset[str], absent: frozenset[str] = frozenset()) -> None:
        self.names, self.absent = names, absent

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.partition(".")[0]
        if top in self.absent:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        if top in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: graded code may not use "
                f"{top} (compute it with NumPy, as the homework asks)",
                name=fullname,
            )

    def probing(self, find_spec: Any) -> Any:
        """`importlib.util.find_spec` as on a machine without the denied packages: None, not
        the finder's error, so that `HAVE_TORCH = find_spec("torch") is not None` (an optional
        import, which works where torch is not installed) does not stop the cell."""

        @functools.wraps(find_spec)
        def find_spec_without_denied(name: str, package: str | None = None) -> Any:
            absolute = importlib.util.resolve_name(name, package) if name.startswith(".") else name
            if absolute.partition(".")[0] in self.names | self.absent:
                return None
            return find_spec(name, package)

        return find_spec_without_denied


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="untrusted worker (started by the grader)")
    for flag in ("--read-fd", "--write-fd", "--memory", "--cpu", "--nproc", "--fsize", "--nofile"):
        parser.add_argument(flag, type=int, required=True)
    parser.add_argument(
        "--deny", default="", help="comma-separated packages graded code may not import"
    )
    parser.add_argument(
        "--absent", default="", help="comma-separated packages graded code finds missing"
    )
    parser.add_argument("--read", action="append", help="a path the worker may read (allow-list)")
    parser.add_argument("--write", action="append", help="a path the worker may write")
    parser.add_argument(
        "--allow-list", action="store_true", help="confine files to --read and --write (Landlock)"
    )
    parser.add_argument(
        "--same-user", action="store_true", help="no sandbox uid: no capabilities, no metadata"
    )
    opts = parser.parse_args(argv)
    notes = confine_self(
        opts.memory, opts.cpu, opts.nproc, opts.fsize, opts.nofile,
        readable=(opts.read or []) if opts.allow_list else None,
        writable=(opts.write or []) if opts.allow_list else None,
        same_user=opts.same_user,
    )  # fmt: skip
    if opts.deny or opts.absent:
        names = [frozenset(filter(None, o.split(","))) for o in (opts.deny, opts.absent)]
        denied = DeniedImports(*names)
        sys.meta_path.insert(0, denied)
        importlib.util.find_spec = denied.probing(importlib.util.find_spec)
    # What arrives here is the grader's (the cells as the student wrote them, test arguments):
    # it is not cleaned, so a cell with a form feed or a zero-width space runs as written.
    channel = Channel(opts.read_fd, opts.write_fd, clean_text=False)
    channel.send({"ok": True, "ready": True, "notes": notes})
    try:
        Worker(channel).serve()
    except MemoryError:  # e.g. receiving arguments once the notebook has taken all the memory
        os._exit(EXIT_OUT_OF_MEMORY)


if __name__ == "__main__":
    main()
