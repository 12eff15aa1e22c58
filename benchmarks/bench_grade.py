"""Grading each homework's reference notebook with the CLI: recorded vs live oracles, side by side.

Each run is a fresh `autograder grade` process, with the recorded PyTorch expectations (the
default) or with `--live-oracles`; the two kinds alternate run by run, so both see the same
machine load. Memory is the sum of the resident set sizes of the CLI and every descendant (the
sandboxed worker included), sampled every 5 ms from /proc.

    .venv/bin/python benchmarks/bench_grade.py [--runs 7] [HOMEWORK ...]

Targets (issue #12), for every homework: recorded median wall time <= 0.35 x live, and peak
memory of the process tree <= 250 MB with recorded oracles (issue #2: <= 768 MB in any case).
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dlhw.autograder
from dlhw.autograder.homeworks import Homework, get_homework, homeworks

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 10**6  # the targets are in MB (Gradescope's 768 MB)
KINDS = {"recorded": [], "live": ["--live-oracles"]}


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def one_run(cli: Path, hw: Homework, extra: list[str], out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(cli), "grade", hw.id, str(hw.master), "-o", str(out), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(rss(p) for p in descendants(proc.pid)))
        time.sleep(0.005)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{hw.id}: grading failed with exit code {proc.returncode}")
    return wall, peak


def compile_bytecode(chosen: list[Homework]) -> None:
    """Write the grader's and the tests' bytecode first, as an installed grader has it (pip
    compiles what it installs). Where PYTHONDONTWRITEBYTECODE is set (this machine's shell sets
    it), an edited module would otherwise be compiled again by every run (~50 ms for the whole
    package), and the figures would depend on which files changed since the last install."""
    package = Path(dlhw.autograder.__file__).parent
    compileall.compile_dir(package, quiet=1)
    for hw in chosen:
        for test_file in [hw.public_tests, *hw.hidden_tests]:
            compileall.compile_file(test_file, quiet=1)


def bench(cli: Path, hw: Homework, runs: int) -> dict[str, tuple[list[float], list[int]]]:
    figures: dict[str, tuple[list[float], list[int]]] = {k: ([], []) for k in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        for extra in KINDS.values():
            one_run(cli, hw, extra, out)  # warm the page cache; not counted
        for i in range(runs):
            for kind, extra in KINDS.items():
                wall, peak = one_run(cli, hw, extra, out)
                figures[kind][0].append(wall)
                figures[kind][1].append(peak)
                print(
                    f"  {hw.id} run {i + 1} {kind:>8}: {wall:.2f} s, peak tree RSS {peak / MB:.0f} MB"
                )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("homework", nargs="*", help="homework ids (default: every homework)")
    opts = parser.parse_args()
    cli = Path(sys.executable).with_name("autograder")
    chosen = [get_homework(h) for h in opts.homework] or homeworks()
    compile_bytecode(chosen)
    rows = []
    for hw in chosen:
        figures = bench(cli, hw, opts.runs)
        rec, live = (statistics.median(figures[k][0]) for k in ("recorded", "live"))
        rec_mem, live_mem = (max(figures[k][1]) for k in ("recorded", "live"))
        rows.append((hw.id, rec, live, rec / live, rec_mem, live_mem))
    print(f"\n{opts.runs} runs of each kind per homework, alternating; wall time is the median")
    print(
        f"{'hw':<5} {'recorded':>9} {'live':>8} {'ratio':>6}  {'peak MB rec':>11} {'peak MB live':>12}"
    )
    ok = True
    for hw_id, rec, live, ratio, rec_mem, live_mem in rows:
        ok &= ratio <= 0.35 and rec_mem <= 250 * MB
        print(
            f"{hw_id:<5} {rec:>8.2f}s {live:>7.2f}s {ratio:>6.2f}  "
            f"{rec_mem / MB:>11.0f} {live_mem / MB:>12.0f}"
        )
    print(
        "targets: ratio <= 0.35, recorded peak <= 250 MB: "
        + ("met for every homework" if ok else "NOT MET")
    )


if __name__ == "__main__":
    main()
