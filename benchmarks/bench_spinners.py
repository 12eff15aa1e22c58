"""Leftover spinners against the run budget: grade the corpus's `spinner_army` (forty setsid()
children spinning from the first cell on) with and without the kernel layers, and print the wall
time of each grading run next to its budget, the score and what the cleanup reported.

    .venv/bin/python benchmarks/bench_spinners.py [--budget 60] [--repeat 1]

Needs root (the uid sandbox); the kernel layers need CAP_SYS_ADMIN too (else both rows are the
fallback, and the staff notes say so).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "corpus"), str(HERE.parent / "tests")]

import build_corpus  # noqa: E402
from corpus_kit import HW, Context, write_upload  # noqa: E402
from dlhw.autograder.grading import grade  # noqa: E402
from test_corpus import LIMITS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="run budget, seconds")
    parser.add_argument("--repeat", type=int, default=1)
    opts = parser.parse_args()
    limits = replace(LIMITS, run_timeout_s=opts.budget)
    print(f"budget {opts.budget:g} s, {os.cpu_count()} CPUs")
    for layers in ("default", "off"):
        os.environ["DLHW_KERNEL_LAYERS"] = "on" if layers == "default" else "off"
        times = []
        for _ in range(opts.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                upload = write_upload(build_corpus.BY_NAME["spinner_army"], Context(), Path(tmp))
                start = time.monotonic()
                outcome = grade(HW, upload, Path(tmp) / "results.json", limits=limits)
                times.append(time.monotonic() - start)
            notes = outcome.staff_log.splitlines()[-1]
        print(
            f"layers {layers:8s} wall median {statistics.median(times):6.1f} s "
            f"(max {max(times):.1f}) score {outcome.score:g}/{outcome.max_score:g}\n  {notes}"
        )


if __name__ == "__main__":
    main()
