"""Grading each homework's reference notebook with the CLI: wall time and peak memory of the
process tree, every homework in the same run, with ratios to the first one (hw1).

Each run is a fresh `autograder grade` process; the homeworks alternate run by run, so all see the
same machine load. Memory is the sum of the resident set sizes of the CLI and every descendant (the
sandboxed worker included), sampled every 5 ms from /proc; the largest single-process peak
(getrusage, over all runs) is printed as a cross-check.

    .venv/bin/python benchmarks/bench_grade.py [--runs 7] [HOMEWORK ...]   (default: every one)

Targets (issue #2): median <= 3 s, peak tree memory <= 768 MB (Gradescope's default limit).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlhw.autograder.homeworks import Homework, get_homework, homeworks

PAGE = os.sysconf("SC_PAGE_SIZE")


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


def one_run(cli: Path, hw: Homework, out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(cli), "grade", hw.id, str(hw.master), "-o", str(out)],
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("homework", nargs="*", help="homework ids (default: every homework)")
    opts = parser.parse_args()
    cli = Path(sys.executable).with_name("autograder")
    chosen = [get_homework(h) for h in opts.homework] or homeworks()
    walls: dict[str, list[float]] = {hw.id: [] for hw in chosen}
    peaks: dict[str, list[int]] = {hw.id: [] for hw in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        for hw in chosen:
            one_run(cli, hw, out)  # warm the page cache; not counted
        for i in range(opts.runs):
            for hw in chosen:
                wall, peak = one_run(cli, hw, out)
                walls[hw.id].append(wall)
                peaks[hw.id].append(peak)
                print(f"run {i + 1} {hw.id}: {wall:.2f} s, peak tree RSS {peak / 2**20:.0f} MiB")
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    first = chosen[0].id
    base_wall, base_peak = statistics.median(walls[first]), max(peaks[first])
    print(f"\n{opts.runs} runs per homework, alternating; targets: median <= 3 s, peak <= 768 MB")
    print(f"{'hw':<5} {'median s':>8} {'min s':>6} {'max s':>6} {'peak MiB':>8}  ratio to {first}")
    for hw in chosen:
        wall, peak = statistics.median(walls[hw.id]), max(peaks[hw.id])
        print(
            f"{hw.id:<5} {wall:>8.2f} {min(walls[hw.id]):>6.2f} {max(walls[hw.id]):>6.2f} "
            f"{peak / 2**20:>8.0f}  time x{wall / base_wall:.2f}, memory x{peak / base_peak:.2f}"
        )
    print(f"largest single process (getrusage): {largest:.0f} MiB")


if __name__ == "__main__":
    main()
