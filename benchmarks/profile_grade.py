"""Where a grading run's time goes: each phase of `grade`, timed in a fresh process.

    .venv/bin/python benchmarks/profile_grade.py [HOMEWORK] [--live-oracles]

Phases, one after another: importing the CLI (numpy; pytest, nbformat and jsonschema are
imported when first used), reading and validating the notebook (nbformat's import included),
starting the worker, running the cells (the worker's own start-up, numpy included, is part of
this), pytest with the public and hidden tests (pytest's import included), closing the session,
and validating and writing results.json. `grade` itself overlaps some of them: the worker
boots while the notebook is read, and the cells run while pytest starts and collects the tests,
so its wall time is less than this total. For a call-level view, run
`python -m cProfile -s cumtime -m dlhw.autograder.cli grade ...`.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import dlhw.autograder.cli  # noqa: E402, F401 - what a grading process imports first

IMPORTED = time.perf_counter()

from dlhw.autograder.classspec import class_specs  # noqa: E402
from dlhw.autograder.grading import run_tests  # noqa: E402
from dlhw.autograder.homeworks import get_homework, homeworks  # noqa: E402
from dlhw.autograder.notebook import graded_cells  # noqa: E402
from dlhw.autograder.oracles import Mode, OracleRun, oracle_run  # noqa: E402
from dlhw.autograder.results import write_results  # noqa: E402
from dlhw.autograder.session import Session  # noqa: E402
from dlhw.autograder.submission import Submission  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("homework", nargs="?", default=homeworks()[0].id)
    parser.add_argument("--live-oracles", action="store_true")
    opts = parser.parse_args()
    hw = get_homework(opts.homework)
    laps = [("import the CLI", IMPORTED - START)]
    last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        laps.append((name, now - last))
        last = now

    read = graded_cells(hw.master)
    lap("read + validate the notebook")
    session = Session()
    lap("start the worker")
    session.run_cells([(c.index, c.source) for c in read.cells])
    lap("run the cells (worker start-up)")
    run = OracleRun(Mode.LIVE if opts.live_oracles else Mode.RECORDED)
    with oracle_run(run):
        entries, _ = run_tests(
            [hw.public_tests, *hw.hidden_tests],
            Submission(session, classes=class_specs(hw.classes), functions=hw.functions),
        )
    lap(f"pytest: {len(entries)} tests ({run.mode.value} oracles)")
    session.close()
    lap("close the session")
    with tempfile.TemporaryDirectory() as tmp:
        tests = [e.to_json() for e in entries]
        write_results({"score": 0, "output": "", "tests": tests}, Path(tmp) / "results.json")
    lap("validate + write results.json")
    total = sum(t for _, t in laps)
    for name, seconds in laps:
        print(f"{name:<42} {seconds * 1000:7.0f} ms  {100 * seconds / total:4.0f} %")
    print(f"{'total':<42} {total * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
