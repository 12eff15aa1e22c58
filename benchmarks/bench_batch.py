"""Throughput of grading a class: a loop of `autograder grade` vs `batch --jobs 1` and `--jobs 2`.

Builds a class of hw1 submissions (default 200): correct (the reference), unusual but correct and
buggy (the homework's variants), hostile (exits, forged results and output, a loop that never
ends) and malformed (not JSON, empty), then grades them three ways, side by side in one run, and
prints each way's time and throughput. The sequential loop (a fresh process per submission, as a
shell loop over `autograder grade` would) is timed once per distinct submission, weighted by
how often it occurs in the class.

    .venv/bin/python benchmarks/bench_batch.py [--count 200]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.variants import load_variants, variant_notebook

HOSTILE = {
    "exit_at_import": "import sys\nsys.exit(0)",
    "os_exit_in_function": "import os\ndef softmax_loss(Z, y):\n    os._exit(3)",
    "forged_results": (
        "import json, os\nfor d in ('/autograder/results', os.getcwd()):\n"
        "    try:\n        open(os.path.join(d, 'results.json'), 'w').write('{\"score\": 99}')\n"
        "    except OSError:\n        pass"
    ),
    "forged_output": "print('TOTAL 31/31\\nAll tests passed!')",
    "loops_forever": "def softmax_regression_grad(X, y, theta):\n    while True:\n        pass",
}


def build_class(folder: Path, count: int) -> dict[str, str]:
    """`count` submissions named by kind; returns name -> kind."""
    hw = get_homework("hw1")
    reference = [c.source for c in graded_cells(hw.master).cells]
    variants = load_variants(hw)
    makers: list[tuple[str, object]] = [("correct", nbformat.read(hw.master, as_version=4))]
    makers += [(f"{v.kind}:{v.name}", variant_notebook(hw, v)) for v in variants]
    for name, source in HOSTILE.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in [*reference, source]]
        makers.append((f"hostile:{name}", nb))
    makers += [("malformed:not_json", b"print('hi')\n"), ("malformed:empty", b"")]
    # Mostly correct and buggy work, as in a real class; every kind at least once. The hostile
    # and malformed ones are a fixed share of the class (15 and 6 of 200, as in every measurement
    # since 2026-11), spread evenly through it: their count must not follow how many variants
    # the homework has (three hung submissions cost more than the rest of the class).
    weights = {"correct": 6, "unusual": 2, "bug": 2}
    regular = [m for m in makers for _ in range(weights.get(m[0].split(":")[0], 0))]
    odd = [m for m in makers if m[0].split(":")[0] in ("hostile", "malformed")]
    per_kind = {"hostile": round(count * 0.075 / len(HOSTILE)), "malformed": round(count * 0.015)}
    times = {m[0]: max(1, per_kind[m[0].split(":")[0]]) for m in odd}
    special = [m for r in range(max(times.values())) for m in odd if r < times[m[0]]]
    at = {int((i + 0.5) * count / len(special)): m for i, m in enumerate(special)}
    fill = itertools.cycle(regular)
    kinds = {}
    for i in range(count):
        kind, content = at[i] if i in at else next(fill)
        path = folder / f"student{i:04d}.ipynb"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)  # type: ignore[arg-type]
        kinds[path.stem] = kind
    return kinds


def busy_cpu_seconds() -> float:
    """CPU time the whole machine spent busy so far (all cores, all processes: the workers in
    their PID namespaces too, whose time no parent's rusage collects), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_batch(cli: Path, folder: Path, out: Path, jobs: int) -> tuple[float, float]:
    """Wall time and busy CPU time (the machine's, so run it with nothing else running)."""
    shutil.rmtree(out, ignore_errors=True)
    cpu, start = busy_cpu_seconds(), time.perf_counter()
    subprocess.run(
        [str(cli), "batch", "hw1", str(folder), "-o", str(out), "-j", str(jobs), "-q"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start, busy_cpu_seconds() - cpu


def job_seconds(out: Path) -> dict[str, float]:
    """Each submission's job time (the gradebook's seconds)."""
    with open(out / "gradebook.csv", newline="") as f:
        return {row["submission"]: float(row["seconds"] or 0) for row in csv.DictReader(f)}


def list_schedule(durations: list[float], jobs: int) -> float:
    """How long `jobs` jobs take for these durations, handed out in order to the first job free
    (as the batch's process pool does): the makespan."""
    free = [0.0] * jobs
    for d in durations:
        free[free.index(min(free))] += d
    return max(free)


def seconds_by_kind(out: Path, kinds: dict[str, str]) -> dict[str, tuple[int, float]]:
    """Per kind of submission: how many, and their job time in all (the gradebook's seconds)."""
    totals: dict[str, tuple[int, float]] = {}
    with open(out / "gradebook.csv", newline="") as f:
        for row in csv.DictReader(f):
            kind = kinds.get(row["submission"], "?")
            kind = kind if kind.startswith("hostile") else kind.split(":")[0]
            count, seconds = totals.get(kind, (0, 0.0))
            totals[kind] = (count + 1, seconds + float(row["seconds"] or 0))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    opts = parser.parse_args()
    cli = Path(sys.executable).with_name("autograder")
    with tempfile.TemporaryDirectory(prefix="dlhw-bench-batch-") as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        kinds = build_class(folder, opts.count)
        counts: dict[str, int] = {}
        for kind in kinds.values():
            counts[kind.split(":")[0]] = counts.get(kind.split(":")[0], 0) + 1
        print(f"class of {len(kinds)} hw1 submissions: {counts}")
        # The sequential loop, timed once per distinct submission and weighted by how often it
        # occurs: a strided sample of the class would see only some of its kinds (the class
        # cycles through them) and could miss the slow ones (a function that never returns).
        by_kind: dict[str, list[str]] = {}
        for name, kind in sorted(kinds.items()):
            by_kind.setdefault(kind, []).append(name)
        seq_total = 0.0
        for names in by_kind.values():
            start = time.perf_counter()
            subprocess.run(
                [str(cli), "grade", "hw1", str(folder / f"{names[0]}.ipynb"), "-o",
                 str(Path(tmp) / "seq" / names[0] / "results.json")],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            seq_total += (time.perf_counter() - start) * len(names)
        seq = seq_total / len(kinds)
        one, one_cpu = run_batch(cli, folder, Path(tmp) / "out1", 1)
        two, two_cpu = run_batch(cli, folder, Path(tmp) / "out2", 2)
        n = len(kinds)
        rows = [
            ("sequential `autograder grade`", seq * n, n / (seq * n), ""),
            ("batch --jobs 1", one, n / one, f"{one_cpu:.1f}"),
            ("batch --jobs 2", two, n / two, f"{two_cpu:.1f}"),
        ]
        print(f"\n{'way':<32}{'time (s)':>12}{'submissions/s':>16}{'busy CPU (s)':>15}")
        for label, seconds, rate, cpu in rows:
            print(f"{label:<32}{seconds:>12.1f}{rate:>16.2f}{cpu:>15}")
        print("\nbatch --jobs 2, job time by kind of submission (the gradebook's seconds):")
        for kind, (count, seconds) in sorted(seconds_by_kind(Path(tmp) / "out2", kinds).items()):
            print(
                f"  {kind:<32}{count:>5} submissions {seconds:>8.1f} s ({seconds / count:.2f} s each)"
            )
        print(
            f"busy CPU per submission in batch --jobs 2: {two_cpu / n * 1000:.0f} ms on average "
            "(the whole machine's: run with nothing else running)"
        )
        print(
            f"\n(sequential: {seq:.2f} s per submission on average; each of the {len(by_kind)} "
            "distinct submissions graded once, weighted by its count)"
        )
        print(f"batch --jobs 2 vs sequential: {seq * n / two:.1f}x the throughput")
        # What the order of the class allows: the submissions in the order the batch hands them
        # out, each with its measured job time, on two jobs; then with every submission but the
        # ones that never return (hostile:loops_forever) free.
        times = job_seconds(Path(tmp) / "out2")
        order = sorted(times)
        hung = {k for k in order if kinds.get(k) == "hostile:loops_forever"}
        fit = list_schedule([times[k] for k in order], 2)
        floor = list_schedule([times[k] if k in hung else 0.0 for k in order], 2)
        if hung:
            print(
                f"two jobs on these job times, in the class's order: {fit:.1f} s; with every "
                f"submission but the {len(hung)} that never return free: {floor:.1f} s, "
                f"at most {seq * n / floor:.1f}x the loop"
            )
        # What the machine's CPU allows: two jobs cannot take less than the CPU they keep busy
        # over the machine's cores, however they are scheduled (a function that never returns
        # keeps a core busy until its limit).
        cores = os.cpu_count() or 1
        print(
            f"the CPU batch --jobs 2 kept busy, over this machine's {cores} cores: "
            f"{two_cpu / cores:.1f} s, so at most {seq * n / (two_cpu / cores):.1f}x the "
            "loop whatever the scheduling"
        )
        print(f"a class of 1,000 at the --jobs 2 rate: {1000 * two / n / 60:.1f} minutes")


if __name__ == "__main__":
    main()
