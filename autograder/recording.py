"""Recording a homework's oracles, and checking the records against live torch.

    record_oracles(get_homework("hw1"))              # `autograder record-oracles hw1`
    record_oracles(get_homework("hw1"), check=True)  # CI: fails on a stale, missing or unused record

Both grade the homework's reference notebook with its public and hidden tests, every oracle
computed with live torch: recording keeps every value asked for (and only those) in the store
beside the file that defines the oracle; checking compares each with its record. The reference
must earn full marks, or some test stopped before asking for its expectation.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from dlhw.autograder.confinement import Limits
from dlhw.autograder.grading import grade
from dlhw.autograder.homeworks import Homework
from dlhw.autograder.oracle_store import STORE_NAME, save
from dlhw.autograder.oracles import Mode, OracleRun


@dataclass(frozen=True)
class RecordReport:
    homework: str
    problems: tuple[str, ...]  # empty when all is well
    written: tuple[Path, ...] = ()
    values: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def record_oracles(
    hw: Homework, *, check: bool = False, limits: Limits | None = None
) -> RecordReport:
    """Record (or, with `check`, verify) every oracle value the homework's tests ask for."""
    run = OracleRun(Mode.VERIFY if check else Mode.RECORD)
    outcome = grade(hw, hw.master, None, limits=limits, oracles=run)
    failed = [t["name"] for t in outcome.results["tests"] if t["status"] != "passed"]
    if failed or outcome.max_score == 0:
        problem = (
            f"the reference notebook must earn full marks to reach every oracle; failed: {failed}"
            f"\n{outcome.results.get('output', '')}\n{outcome.staff_log}"
        )
        return RecordReport(hw.id, (problem,))
    if check:
        # Every record of the homework is looked at, not only those of folders a call reached:
        # a store that no oracle call opens at all is as stale as one record nobody asked for.
        for folder in {p.parent for p in [hw.public_tests, *hw.hidden_tests]}:
            if (folder / STORE_NAME).is_file():
                run.store(folder)
        return RecordReport(
            hw.id,
            tuple(run.problems + run.unused()),
            values=sum(len(keys) for keys in run.used.values()),
        )
    import torch  # recording happens with live torch, whose version the index keeps

    written = []
    for folder in sorted(
        {p.parent for p in [hw.public_tests, *hw.hidden_tests]} | set(run.recorded)
    ):
        records = run.recorded.get(folder, {})
        path = folder / STORE_NAME
        if records:
            save(path, records, {"torch": torch.__version__})
            written.append(path)
        elif path.exists():  # no oracle there any more
            path.unlink()
    count = sum(len(r) for r in run.recorded.values())
    return RecordReport(hw.id, (), tuple(written), count)


def needs_live_torch(hw: Homework) -> bool:
    """Whether grading `hw` needs torch installed (Gradescope's `--torch auto`), read from the
    tests' source without running it: a test module that imports torch at its top, an oracle
    marked `live=True`, or a folder whose tests have oracles and no recorded values."""
    for path in [hw.public_tests, *hw.hidden_tests]:
        if not path.is_file():
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:
            if isinstance(node, ast.Import) and any(_is_torch(a.name) for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and _is_torch(node.module or ""):
                return True
        decorators = [
            d for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) for d in n.decorator_list
        ]
        oracles = [d for d in decorators if _names_oracle(d)]
        if any(isinstance(d, ast.Call) and _live(d) for d in oracles):
            return True
        if oracles and not (path.parent / STORE_NAME).is_file():
            return True
    return False


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def _names_oracle(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == "oracle") or (
        isinstance(target, ast.Attribute) and target.attr == "oracle"
    )


def _live(call: ast.Call) -> bool:
    return any(
        k.arg == "live" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
        for k in call.keywords
    )
