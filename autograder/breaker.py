"""The time-out breaker: a student callable that ran past its limit does not cost it again.

A function that never returns would otherwise cost the full per-call limit (10 s) in every test
that calls it, directly or through another function of the notebook (hw1's epoch calls the
gradient), and a worker restart each time. The breaker, per grading run (one `Session`):

1. A callable that ran past its limit is *hung*: later calls still run, under a tenth of the
   limit and at least `Limits.retry_timeout_s` (1 s for the usual 10 s). So is any call of a
   callable whose code names a hung one (`references`: read from the notebook's source on the
   trusted side; code it cannot see, such as `getattr` by string, just keeps the full limit).
   A function only slow on large inputs still answers the small calls.
2. A function or class whose shortened call ran past its limit too, without answering any call
   since its last time-out, is *given up*: later tests do not call it; they fail at once with a
   message naming the earlier tests and limits. A function that never returns therefore costs
   one full time-out and one short one per run, and no restart after that. So is one that
   crashed the worker twice in a row (`os._exit`, a segfault): each crash costs a restart and a
   replay of the notebook.
3. Methods, attributes and operators are named without their class (`.forward`: a pending
   target's class is not known before the request runs), so they are never given up, only
   shortened: a method that hangs in one class must not stop a same-named method of another
   class from being called.

The breaker only ever shortens a limit or skips a call, and every skipped or unanswered call
fails its test (`reporter.SubmissionFixture` fails a test that would otherwise pass after one):
it can turn a pass into a failure, never a failure into a pass.
"""

from __future__ import annotations

import ast
import copy
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

# Source read for references, in all: the grader parses it (an AST takes tens of times the
# memory of its source), so a notebook of up to 50 MB must not make it parse all of it; past this
# the breaker just knows less (calls keep their full limit). Homework notebooks hold ~20 KB.
MAX_SOURCE_CHARS = 1_000_000
# One cell's tree is in memory at a time: a cell of 1,000,000 characters of `x=1` took the grader
# to ~610 MB and 4.7 s (Gradescope gives grader and worker 768 MB in all); 100,000 take ~60 MB
# and ~0.4 s. A longer cell is not read (five times a whole homework notebook).
MAX_CELL_CHARS = 100_000


class References:
    """Which callables of the notebook each one names (a function `f`, a class `C`, a method
    `.m`), read from the cells' source with `ast` on the grader's side: nothing runs. Cells that
    do not parse (magics, syntax errors, absurd nesting) add nothing. Closures over these names
    are computed when asked for, once per name (a run asks for a handful). The cells are parsed
    when first asked, too: only a run where something hung asks (`Breaker.limit`), and parsing a
    notebook's cells cost ~2-5 ms of every run."""

    def __init__(self, sources: Iterable[str] = ()) -> None:
        self._sources: list[str] | None = list(sources)
        self._parsing = threading.Lock()  # grading.CellRunner's thread makes requests too
        self._direct: dict[str, set[str]] = {}
        self._closed: dict[str, frozenset[str]] = {}

    @property
    def direct(self) -> dict[str, set[str]]:
        """What each callable of the notebook names directly."""
        with self._parsing:
            if self._sources is not None:
                self._parse(self._sources)
                self._sources = None
        return self._direct

    def _parse(self, sources: list[str]) -> None:
        left = MAX_SOURCE_CHARS
        for source in sources:
            left -= len(source)
            if left < 0:
                break
            if len(source) > MAX_CELL_CHARS:
                continue
            try:
                # Python's warnings about the student's code (an invalid escape, `x is 1`) are the
                # worker's to report: here they would only fill the grader's stderr (printed by
                # default from Python 3.12 on, one line each; a notebook can hold 100,000).
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = ast.parse(source)
            except Exception:  # noqa: BLE001 - SyntaxError, ValueError, RecursionError, MemoryError
                continue
            _collect(tree, self._direct)

    def get(self, key: str, default: frozenset[str] = frozenset()) -> frozenset[str]:
        """The callables of the notebook `key`'s code names, directly or through others (never
        itself); `default` for a name the notebook does not define."""
        if key not in self.direct:
            return default
        if key not in self._closed:
            seen: set[str] = set()
            todo = [key]
            while todo:  # each name once: linear in the notebook's references
                for name in self.direct[todo.pop()]:
                    if name in self.direct and name not in seen:
                        seen.add(name)
                        todo.append(name)
            seen.discard(key)
            self._closed[key] = frozenset(seen)
        return self._closed[key]

    def __getitem__(self, key: str) -> frozenset[str]:
        return self.get(key)


def references(sources: Iterable[str]) -> References:
    """`References` of these cells."""
    return References(sources)


def _collect(tree: ast.AST, direct: dict[str, set[str]]) -> None:
    """One pass over the tree: every name and attribute goes to the innermost function or class
    it is in, and a function or class defined inside another is named by it (so the closure
    reaches what it names), each node visited once."""
    todo: list[tuple[ast.AST, str | None, bool]] = [(tree, None, False)]  # node, owner, in class
    while todo:
        node, owner, in_class = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            key = f".{node.name}" if in_class else node.name
            direct.setdefault(key, set())
            if owner is not None:
                direct[owner].add(key)
            owner = key
        elif owner is not None and isinstance(node, ast.Name):
            direct[owner].add(node.id)
        elif owner is not None and isinstance(node, ast.Attribute):
            direct[owner].add(f".{node.attr}")
        inside_class = isinstance(node, ast.ClassDef)
        todo.extend((child, owner, inside_class) for child in ast.iter_child_nodes(node))


def _unqualified(name: str) -> bool:
    """Methods, attributes, operators and finalizers: names shared by every class."""
    return name.startswith(".") or " " in name


@dataclass
class Breaker:
    """One run's record of what hung. `test` is the test running now, as feedback names it
    (set by the `sub` fixture; empty outside pytest)."""

    retry_timeout_s: float
    reach: References = field(default_factory=References)
    hung: set[str] = field(default_factory=set)
    returned: set[str] = field(default_factory=set)  # answered at least once in this run
    test: str = ""
    _where: dict[str, str] = field(default_factory=dict)  # hung name -> "10 s in test X"
    _since: set[str] = field(default_factory=set)  # answered since their last time-out
    _given_up: dict[str, str] = field(default_factory=dict)  # name -> why it is not called
    _crashes: dict[str, str] = field(default_factory=dict)  # name -> where it last crashed

    def _in(self) -> str:
        return f" in test '{self.test}'" if self.test else " in an earlier test"

    def limit(self, runs: frozenset[str], timeout: float) -> tuple[float, str]:
        """The limit for a request that may run `runs`, and why it is shorter than `timeout`
        ("" if it is not). Raises `GivenUp` for a call that is not made."""
        for name in sorted(runs):
            if name in self._given_up:
                raise GivenUp(self._given_up[name])
        if not self.hung:  # nothing has: every request gets its full limit
            return timeout, ""
        named = set(runs).union(*(self.reach.get(n, frozenset()) for n in runs))
        # Methods also match across classes by name (only ever stricter).
        hung = sorted(n for n in named if n in self.hung)
        if not hung:
            return timeout, ""
        short = min(timeout, max(self.retry_timeout_s, timeout / 10))
        if short >= timeout:
            return timeout, ""
        causes = "; ".join(
            f"{n} already ran past its limit ({self._where.get(n, 'earlier')})"
            + ("" if n in runs else f", and {_caller(runs)} calls it")
            for n in hung
        )
        return short, f"{causes}, so later calls get {short:g} s"

    def timed_out(self, runs: frozenset[str], limit: float, full: float) -> None:
        """A request that may run `runs` ran past `limit` (the shortened one if < `full`)."""
        # Blame what has never answered; if everything here has, any of it may have hung now.
        blamed = (runs - self.returned) or runs
        for name in sorted(blamed):
            if limit < full and not _unqualified(name) and name not in self._since:
                before = self._where.get(name)
                self._given_up[name] = (
                    f"{name} did not return within {limit:g} s{self._in()}"
                    + (f", after running past its limit ({before})" if before else "")
                    + (
                        ""
                        if before
                        else f" (its limit was shortened because code it calls had hung: "
                        f"{', '.join(sorted(self.reach.get(name, frozenset()) & self.hung))})"
                    )
                    + ", so the grader stopped calling it in this run (every test that needs it fails)"
                )
            if name not in self.hung:
                self._where[name] = f"{limit:g} s{self._in()}"
            self.hung.add(name)
            self._since.discard(name)

    def crashed(self, runs: frozenset[str]) -> None:
        """A request that may run `runs` crashed the worker (it exited or was killed). A function
        or class that does so twice in a row, answering nothing in between, is given up: each
        crash costs a restart and a replay of the notebook, in every later test that calls it."""
        blamed = (runs - self.returned) or runs
        for name in sorted(blamed):
            if _unqualified(name):
                continue
            before = self._crashes.get(name)
            if before is not None and name not in self._since:
                self._given_up[name] = (
                    f"{name} crashed your notebook's process{self._in()}, as it did{before}, "
                    "so the grader stopped calling it in this run (every test that needs it fails)"
                )
            self._crashes[name] = self._in()
            self._since.discard(name)

    def answered(self, runs: frozenset[str]) -> None:
        self.returned |= runs
        self._since |= runs

    def state(self) -> dict[str, Any]:
        """What it knows now (copies of what it learns), for `restore`."""
        return {name: copy.copy(getattr(self, name)) for name in _LEARNT}

    def restore(self, state: dict[str, Any]) -> None:
        """Forget what it learnt since `state`: requests made for a hint, not a test
        (`Submission.aside`), never shorten or skip a later test's calls."""
        for name, value in state.items():
            setattr(self, name, copy.copy(value))


# What a Breaker learns in a run: every field but its setting, the notebook's references and
# the test running now.
_LEARNT = tuple(
    f.name for f in fields(Breaker) if f.name not in ("retry_timeout_s", "reach", "test")
)


def _caller(runs: frozenset[str]) -> str:
    return ", ".join(sorted(runs)) if runs else "this request"


class GivenUp(Exception):
    """A call the breaker did not make (its function was given up earlier in the run)."""
