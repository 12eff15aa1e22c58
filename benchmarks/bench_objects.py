"""Objects across the boundary: a 10,000-node Value graph built and back-propagated from the grader.

The student's code is the object tests' reference (tests/objects_hw/reference.py), run in a real
sandboxed worker. Timed from the grader's side, as a hidden test would see it:

  - batched: a chain of 10,000 nodes (v <- v * 1.0001 + x_i, see `chain`) built inside one
    `with sub.batch():` block, with `backward()` and every leaf's `.grad` read in the same block
    (about 13,300 operations);
  - eager: the same with one round trip per operation (what a test without a batch costs).

Each figure is the median of --runs runs, all in one process against one worker. Wall time is
what grading waits; CPU time (the grader's process plus the worker's, from /proc) is printed beside
it because wall time on a shared machine also counts other people's work.

    .venv/bin/python benchmarks/bench_objects.py [--runs 5] [--nodes 10000]

Target (issue #9): the batched graph in well under a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "objects_hw"))

from dlhw.autograder.confinement import Limits  # noqa: E402
from dlhw.autograder.session import Session  # noqa: E402
from dlhw.autograder.submission import Submission  # noqa: E402
from objects_fixture import CLASSES, reference_cells  # noqa: E402


def chain(sub: Submission, nodes: int) -> tuple[list[Any], int]:
    """Build a graph of `nodes` Values: a start node, leaves x_i, and v <- v * 1.0001 + x_i (a
    product and a sum node per leaf), then backward from the end. Returns the leaves and the
    number of nodes the test made (the student's code also wraps each constant 1.0001)."""
    leaves = nodes // 3
    v = sub.Value(1.0)
    xs = [sub.Value(0.001 * i) for i in range(leaves)]
    for x in xs:
        v = v * 1.0001 + x
    v.backward()
    return xs, 1 + 3 * leaves


def worker_cpu(session: Session) -> float:
    """CPU seconds (user + system) the worker process has used so far."""
    pid = session._worker.proc.pid  # type: ignore[union-attr]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_batched(sub: Submission, nodes: int) -> tuple[int, float]:
    with sub.batch():
        xs, made = chain(sub, nodes)
        grads = [x.grad for x in xs]
    return made, [g.value for g in grads][0]


def run_eager(sub: Submission, nodes: int) -> tuple[int, float]:
    xs, made = chain(sub, nodes)
    return made, [x.grad for x in xs][0]


def timed(
    sub: Submission, session: Session, runner: Any, nodes: int
) -> tuple[float, float, int, float]:
    """(wall s, CPU s of grader + worker, nodes made, d end / d x_0) of one run."""
    cpu0, worker0, start = time.process_time(), worker_cpu(session), time.perf_counter()
    made, grad0 = runner(sub, nodes)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0 + worker_cpu(session) - worker0
    sub.release()
    return wall, cpu, made, grad0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--eager-nodes", type=int, default=3_000, help="eager is slow: fewer")
    opts = parser.parse_args(argv)
    with Session(Limits(call_timeout_s=30.0, run_timeout_s=600.0)) as session:
        reports = session.run_cells(list(enumerate(reference_cells())))
        assert all(r.status == "ok" for r in reports), reports
        sub = Submission(session, classes=CLASSES)
        for name, runner, nodes in (
            ("batched", run_batched, opts.nodes),
            ("eager", run_eager, opts.eager_nodes),
        ):
            walls, cpus = [], []
            for _ in range(opts.runs):
                wall, cpu, made, grad0 = timed(sub, session, runner, nodes)
                walls.append(wall)
                cpus.append(cpu)
                # d end / d x_0 = 1.0001 ** (leaves - 1): the result is checked, not only timed
                # (float64 products of ~3,000 factors: relative error ~1e-13; 1e-9 is ample).
                expected = 1.0001 ** ((made - 1) // 3 - 1)
                assert abs(grad0 - expected) <= 1e-9 * expected, (grad0, expected)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            print(
                f"{name:8s} {made:6d} nodes: wall median {wall:.3f} s (min {min(walls):.3f}), "
                f"CPU median {cpu:.3f} s (grader + worker), {opts.runs} runs, "
                f"{1e6 * wall / made:.0f} us/node"
            )


if __name__ == "__main__":
    main()
