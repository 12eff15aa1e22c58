"""Mutation score of a homework's hidden tests: do they catch wrong code?

    report = mutation_report(get_homework("hw1"), jobs=2)

Mutants are made from the reference's solution regions only (the code students write): an
arithmetic or comparison operator swapped, a sign flipped, a constant changed by one (or 0 <-> 1,
True <-> False), an axis changed, a slice bound moved by one, a boolean operator swapped, a
statement dropped. Each is the master notebook with one small edit, made on the source text (the
rest of the notebook untouched, so a survivor reads as a one-line diff), and graded by the batch
engine. A mutant is caught when it loses points.

Some mutants cannot be caught because they do not change behaviour (dropping a `.copy()` of an
array nobody writes to); each homework lists those in `equivalent_mutants.toml` with the reason,
and they are left out of the score.

No mutation library is used: mutmut and cosmic-ray mutate whole modules on disk and drive their
own test runners, while these mutants must stay inside solution regions of notebook cells and be
graded by the sandboxed grader; Python's `ast` gives the positions to edit.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from dlhw.autograder.confinement import Limits
from dlhw.autograder.homeworks import Homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.stubgen import BEGIN, END

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

EQUIVALENTS = "equivalent_mutants.toml"
# Short limits: a mutant that loops forever is caught by timing out, and should not take long.
MUTANT_LIMITS = Limits(call_timeout_s=5.0, cell_timeout_s=10.0, run_timeout_s=120.0)

SWAPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Pow: ast.Mult, ast.MatMult: ast.Mult, ast.Mod: ast.FloorDiv,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.And: ast.Or, ast.Or: ast.And,
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    id: str  # "function: `before` -> `after`" (+ " #n" when the same edit occurs again)
    cell: int  # index among the graded cells
    source: str  # the mutated cell
    original: str

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.original.splitlines(), self.source.splitlines(), "reference", "mutant",
            lineterm="", n=1,
        )  # fmt: skip
        return "\n".join(lines)


def _regions(source: str) -> list[tuple[int, int]]:
    """1-based line ranges strictly between solution markers."""
    spans, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN.match(line):
            start = number + 1
        elif END.match(line) and start is not None:
            spans.append((start, number - 1))
            start = None
    return spans


def _offsets(source: str) -> list[int]:
    offsets, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        offsets.append(total)
    return offsets


def _edits(node: ast.AST) -> Iterator[str]:
    """Replacement texts for one node (each a mutant)."""
    if isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
        yield ast.unparse(ast.BinOp(node.left, SWAPS[type(node.op)](), node.right))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAPS:
        yield ast.unparse(ast.Compare(node.left, [SWAPS[type(node.ops[0])]()], node.comparators))
    elif isinstance(node, ast.BoolOp) and type(node.op) in SWAPS:
        yield ast.unparse(ast.BoolOp(SWAPS[type(node.op)](), node.values))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield ast.unparse(node.operand)
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield repr(not node.value)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield from {repr(v) for v in (node.value + 1, node.value - 1)} - {repr(node.value)}
    elif isinstance(node, ast.Constant) and type(node.value) is float:
        yield from ([repr(node.value * 2)] if node.value else ["1.0"])
    elif (
        isinstance(node, ast.keyword)
        and node.arg == "axis"
        and isinstance(node.value, ast.Constant)
    ):
        yield f"axis={0 if node.value.value else 1}"
    elif isinstance(node, ast.Slice):
        if node.upper is not None:
            yield ast.unparse(
                ast.Slice(node.lower, ast.BinOp(node.upper, ast.Sub(), ast.Constant(1)), node.step)
            )
        if node.lower is not None:
            yield ast.unparse(
                ast.Slice(ast.BinOp(node.lower, ast.Add(), ast.Constant(1)), node.upper, node.step)
            )
    elif isinstance(node, ast.Return) and node.value is not None:
        yield f"return -({ast.unparse(node.value)})"


def _in_message(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside a raise, an assert or an f-string: mutating messages tests nothing."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Raise | ast.Assert | ast.JoinedStr):
            return True
    return False


def _enclosing(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    names = []
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
    return ".".join(reversed(names)) or "<module>"


def mutants_of_cell(source: str, cell: int) -> Iterator[tuple[str, str, str]]:
    """(where, before, after-source) for every mutant of one cell's solution regions."""
    regions = _regions(source)
    if not regions:
        return
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    offsets = _offsets(source)
    for node in ast.walk(tree):
        # Nodes with a position (typeshed's AST declares none: read them with getattr).
        lineno, end_lineno = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if lineno is None or end_lineno is None or _in_message(node, parents):
            continue
        if not any(lo <= lineno and end_lineno <= hi for lo, hi in regions):
            continue
        start = offsets[lineno - 1] + getattr(node, "col_offset", 0)
        end = offsets[end_lineno - 1] + (getattr(node, "end_col_offset", None) or 0)
        before = source[start:end]
        where = _enclosing(node, parents)
        replacements = list(_edits(node))
        if isinstance(node, ast.stmt) and not isinstance(node, ast.FunctionDef | ast.ClassDef):
            replacements.append("pass")  # the statement dropped
        for after in replacements:
            if after != before:
                yield where, before, source[:start] + after + source[end:]


def make_mutants(hw: Homework) -> list[Mutant]:
    cells = [c.source for c in graded_cells(hw.master).cells]
    mutants: list[Mutant] = []
    seen: dict[str, int] = {}
    made: set[str] = set()
    for index, source in enumerate(cells):
        for where, _before, mutated in mutants_of_cell(source, index):
            if mutated in made:  # the same edit reached two ways (axis=1 as keyword and as 1)
                continue
            try:
                compile(mutated, "<mutant>", "exec")
            except SyntaxError:
                continue
            made.add(mutated)
            changed = list(difflib.ndiff(source.splitlines(), mutated.splitlines()))
            before = [_code(ln[2:]) for ln in changed if ln.startswith("- ")]
            after = [_code(ln[2:]) for ln in changed if ln.startswith("+ ")]
            ident = f"{where}: `{_short(' '.join(before))}` -> `{_short(' '.join(after))}`"
            seen[ident] = seen.get(ident, 0) + 1
            if seen[ident] > 1:
                ident += f" #{seen[ident]}"
            mutants.append(Mutant(ident, index, mutated, source))
    return mutants


def _code(line: str) -> str:
    """A line without its trailing comment (for ids: they should say what the code does)."""
    return line.split("  #")[0].split(" # ")[0].strip()


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Equivalent:
    """An entry of equivalent_mutants.toml: an exact `id`, or a `pattern` (a regular
    expression matched against ids from their start), and the `reason` it cannot be caught."""

    key: str
    reason: str
    is_pattern: bool

    def matches(self, ident: str) -> bool:
        return bool(re.match(self.key, ident)) if self.is_pattern else self.key == ident


def equivalents(hw: Homework) -> list[Equivalent]:
    path = hw.solution_dir / EQUIVALENTS
    if not path.exists():
        return []
    found = []
    for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", []):
        if not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: every equivalent mutant needs its reason")
        is_pattern = "pattern" in entry
        found.append(
            Equivalent(str(entry["pattern" if is_pattern else "id"]), entry["reason"], is_pattern)
        )
    return found


@dataclass(frozen=True)
class MutationReport:
    caught: list[Mutant]
    survived: list[Mutant]
    equivalent: list[tuple[Mutant, str]]
    unknown_equivalents: list[str]  # listed as equivalent but no longer made

    @property
    def score(self) -> float:
        total = len(self.caught) + len(self.survived)
        return len(self.caught) / total if total else 1.0

    def text(self) -> str:
        lines = [
            f"{len(self.caught) + len(self.survived) + len(self.equivalent)} mutants: "
            f"{len(self.caught)} caught, {len(self.survived)} survived, "
            f"{len(self.equivalent)} equivalent (excluded); mutation score {100 * self.score:.1f}%"
        ]
        for mutant in self.survived:
            lines += ["", f"SURVIVED {mutant.id}", mutant.diff()]
        for ident in self.unknown_equivalents:
            lines.append(f"\nnote: {EQUIVALENTS} lists {ident!r}, which is no longer a mutant")
        return "\n".join(lines)


def mutation_report(
    hw: Homework,
    jobs: int = 2,
    limits: Limits = MUTANT_LIMITS,
    progress: Callable[[int, int], Any] | None = None,
) -> MutationReport:
    """Grade every mutant (but the equivalent ones) with the batch engine; `progress(done,
    total)` as for grade_batch."""
    from dlhw.autograder.batch import grade_batch

    mutants = make_mutants(hw)
    known = equivalents(hw)
    excluded = {m.id: e.reason for m in mutants for e in known if e.matches(m.id)}
    graded = [m for m in mutants if m.id not in excluded]
    with tempfile.TemporaryDirectory(prefix="dlhw-mutants-") as tmp:
        folder, out = Path(tmp) / "mutants", Path(tmp) / "out"
        folder.mkdir()
        names = {}
        base = [c.source for c in graded_cells(hw.master).cells]
        for number, mutant in enumerate(graded):
            cells = list(base)
            cells[mutant.cell] = mutant.source
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
            name = f"mutant{number:04d}"
            nbformat.write(nb, folder / f"{name}.ipynb")
            names[name] = mutant
        nbformat.write(nbformat.read(hw.master, as_version=4), folder / "reference.ipynb")
        # The mutants are the reference's, not hostile: several at a time wherever they run.
        rows = grade_batch(
            hw,
            folder,
            out,
            jobs=jobs,
            limits=limits,
            rerun=True,
            progress=progress,
            shared_cpu=True,
        )
    reference = next(r for r in rows if r.key == "reference")
    if reference.status != "graded" or reference.score < reference.max_score:
        # Every mutant would "lose points": the score would mean nothing.
        raise RuntimeError(
            f"{hw.id}'s reference scores {reference.score:g}/{reference.max_score:g} "
            f"({reference.status}); fix the tests before measuring them"
        )
    caught: list[Mutant] = []
    survived: list[Mutant] = []
    for row in rows:
        if row.key == "reference":
            continue
        mutant = names[row.key]
        # Only a graded run that lost points counts as caught; a run the grader could not
        # finish counts against the tests (conservatively) and shows up as a survivor.
        lost = row.status in ("graded", "unreadable") and row.score < row.max_score
        (caught if lost else survived).append(mutant)
    return MutationReport(
        caught=caught,
        survived=survived,
        equivalent=[(m, excluded[m.id]) for m in mutants if m.id in excluded],
        unknown_equivalents=sorted(
            e.key for e in known if not any(e.matches(m.id) for m in mutants)
        ),
    )
