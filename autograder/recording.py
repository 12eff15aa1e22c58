"""Recording a homework's oracles, and checking the records against live torch.

    record_oracles(get_homework("hw1"))              # `autograder record-oracles hw1`
    record_oracles(get_homework("hw1"), check=True)  # CI: fails on a stale, missing or unused record

Both grade the homework's reference notebook with its public and hidden tests, every oracle
computed with live torch: recording keeps every value asked for (and only those) in the store
beside the file that defines the oracle; checking compares each with its record. The reference
must earn full marks, or some test stopped before asking for its expectation.
"""

from __future__ import annotations

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
