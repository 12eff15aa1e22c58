"""Objects across the boundary: 10,000-node Value graphs built and back-propagated from the grader.

The student's code is the object tests' reference (tests/objects_hw/reference.py), or with
--homework hw3 that homework's reference notebook (its graded cells), run in a real sandboxed worker; everything is timed from the grader's side, as a hidden test sees it:

  chain    v <- v * 1.0001, 10,000 times from one start node, then backward() and start.grad,
           all in one `with sub.batch():` block (homework 3's "chain of 10,000 nodes" test);
  leaves   v <- v * 1.0001 + x_i for 3,333 leaves x_i (10,000 nodes made by the test), then
           backward() and every leaf's .grad, in one block (about 13,300 operations);
  repeat   the chain as homework 3 builds it now: `sub.repeat(lambda v: v * 1.0001, start,
           times=9_999)` in the batch, the loop run in the worker as one step;
  eager    the chain without a batch, 2,000 nodes: one round trip per operation.

Each figure is the median of --runs runs against one worker. Wall time is what grading waits;
CPU time (this process plus the worker, from /proc) is printed beside it, because wall time on a
shared machine also counts other people's work. Every run's gradient is checked against
1.0001 ** k computed here (float64 products of <= 10,000 factors: relative error ~1e-12).

    .venv/bin/python benchmarks/bench_objects.py [--runs 5] [--homework hw3]

Target (issue #9): a 10,000-node graph and its backward in well under a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "objects_hw"))

from dlhw.autograder.classspec import class_specs  # noqa: E402
from dlhw.autograder.confinement import Limits  # noqa: E402
from dlhw.autograder.homeworks import get_homework  # noqa: E402
from dlhw.autograder.notebook import graded_cells  # noqa: E402
from dlhw.autograder.session import Session  # noqa: E402
from dlhw.autograder.submission import Submission  # noqa: E402
from objects_fixture import CLASSES, reference_cells  # noqa: E402

RTOL = 1e-9  # see the docstring: ~1e-12 expected, 1e-9 leaves room for summation order


def chain(sub: Submission, nodes: int) -> tuple[float, float]:
    """(d end / d start, what it should be) for a chain of `nodes` nodes."""
    start = v = sub.Value(1.0)
    for _ in range(nodes - 1):
        v = v * 1.0001
    v.backward()
    return start.grad, 1.0001 ** (nodes - 1)


def chain_batched(sub: Submission, nodes: int) -> tuple[float, float]:
    with sub.batch():
        grad, expected = chain(sub, nodes)
    return grad.value, expected  # type: ignore[attr-defined]


def chain_repeated(sub: Submission, nodes: int) -> tuple[float, float]:
    with sub.batch():
        start = sub.Value(1.0)
        end = sub.repeat(lambda v: v * 1.0001, start, times=nodes - 1)
        end.backward()
        grad = start.grad
    return grad.value, 1.0001 ** (nodes - 1)  # type: ignore[attr-defined]


def leaves_batched(sub: Submission, nodes: int) -> tuple[float, float]:
    leaves = nodes // 3
    with sub.batch():
        v = sub.Value(1.0)
        xs = [sub.Value(0.001 * i) for i in range(leaves)]
        for x in xs:
            v = v * 1.0001 + x
        v.backward()
        grads = [x.grad for x in xs]
    values = [g.value for g in grads]
    return values[0], 1.0001 ** (leaves - 1)


def worker_cpu(session: Session) -> float:
    """CPU seconds (user + system) the worker has used so far: the process the session started
    and its descendants (the sandboxed worker runs as a child of the launcher the session
    started; the launcher's own figure is about 0)."""
    root = session._worker.proc.pid  # type: ignore[union-attr]
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stats[int(entry)] = (
                    Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                )
            except (OSError, IndexError):
                continue
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if pid in stats:
            total += int(stats[pid][11]) + int(stats[pid][12])
        stack.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    sub: Submission, session: Session, run: Callable[..., tuple[float, float]], nodes: int
) -> tuple[float, float, float]:
    """(wall s, grader CPU s, worker CPU s) of one run, its gradient checked."""
    session.live_generation()  # the worker is up before the clock starts
    cpu0, worker0, start = time.process_time(), worker_cpu(session), time.perf_counter()
    grad, expected = run(sub, nodes)
    wall = time.perf_counter() - start
    cpu, worker = time.process_time() - cpu0, worker_cpu(session) - worker0
    sub.release()
    assert abs(grad - expected) <= RTOL * expected, (grad, expected)
    return wall, cpu, worker


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--homework", help="grade this homework's reference (e.g. hw3) instead")
    opts = parser.parse_args(argv)
    cells, classes = reference_cells(), CLASSES
    if opts.homework:
        hw = get_homework(opts.homework)
        cells = [c.source for c in graded_cells(hw.master).cells]
        classes = class_specs(hw.classes)
    with Session(Limits(call_timeout_s=60.0, run_timeout_s=900.0)) as session:
        reports = session.run_cells(list(enumerate(cells)))
        assert all(r.status == "ok" for r in reports), reports
        sub = Submission(session, classes=classes)
        for name, run, nodes in (
            ("chain", chain_batched, 10_000),
            ("leaves", leaves_batched, 10_000),
            ("repeat", chain_repeated, 10_000),
            ("eager", chain, 2_000),
        ):
            runs = [measure(sub, session, run, nodes) for _ in range(opts.runs)]
            wall, grader, worker = (statistics.median(r[i] for r in runs) for i in range(3))
            print(
                f"{name:7s} {nodes:6d} nodes: wall median {wall:.3f} s "
                f"(min {min(r[0] for r in runs):.3f}), CPU median grader {grader:.3f} s + "
                f"worker {worker:.3f} s, {1e6 * wall / nodes:.0f} us/node, {opts.runs} runs",
                flush=True,
            )


if __name__ == "__main__":
    main()
