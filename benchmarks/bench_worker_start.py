"""What the kernel layers cost: starting a worker (to its first answered cell) and closing the
session (killing, verifying, cleaning up), with the kernel layers and without, side by side.

    .venv/bin/python benchmarks/bench_worker_start.py [--repeat 10]

Needs root for the uid sandbox; the kernel layers also need CAP_SYS_ADMIN (the staff note
printed for each row says which layers were active).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from dlhw.autograder.confinement import Limits
from dlhw.autograder.session import Session


def one_run() -> tuple[float, float, str]:
    start = time.monotonic()
    session = Session(Limits())
    session.run_cells([(0, "x = 1")])
    started = time.monotonic()
    assert session.reports[0].status == "ok", session.reports
    session.close()
    return started - start, time.monotonic() - started, session.notes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    opts = parser.parse_args()
    rows = {}
    for layers in ("default", "off"):
        os.environ["DLHW_KERNEL_LAYERS"] = "on" if layers == "default" else "off"
        one_run()  # warm the page cache
        runs = [one_run() for _ in range(opts.repeat)]
        rows[layers] = runs
    for layers, runs in rows.items():
        start = statistics.median(r[0] for r in runs)
        close = statistics.median(r[1] for r in runs)
        print(f"layers {layers:8s} start {start * 1000:6.0f} ms  close {close * 1000:6.0f} ms "
              f"(medians of {len(runs)})\n  {runs[0][2]}")  # fmt: skip


if __name__ == "__main__":
    main()
