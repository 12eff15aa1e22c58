"""What the kernel layers cost: starting a worker (to its first answered cell) and closing the
session (killing, verifying, cleaning up), with the kernel layers and without, side by side.

    .venv/bin/python benchmarks/bench_worker_start.py [--repeat 10] [--fork-server] [--landlock]

With --fork-server, as in a batch job: workers forked from a fork server (forkserver.py), with
two first cells, one that only assigns and one that draws with NumPy's random generators (what
hw3 to hw5 do first), since a forked worker finds some modules imported already. With --landlock, each layer setting
twice, with the worker's file allow-list (worker/landlock.py) and without (DLHW_LANDLOCK=off),
the runs of the two alternating.

Needs root for the uid sandbox; the kernel layers also need CAP_SYS_ADMIN (the staff note
printed for each row says which layers were active).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from dlhw.autograder.confinement import Limits, start_fork_server
from dlhw.autograder.session import Session

FIRST_CELLS = {"x = 1": "x = 1", "numpy.random": "import numpy as np\nnp.random.default_rng(0)"}


def one_run(cell: str = "x = 1") -> tuple[float, float, str]:
    start = time.monotonic()
    session = Session(Limits())
    session.run_cells([(0, cell)])
    started = time.monotonic()
    assert session.reports[0].status == "ok", session.reports
    session.close()
    return started - start, time.monotonic() - started, session.notes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--fork-server", action="store_true", help="fork workers, as a batch does")
    parser.add_argument("--landlock", action="store_true", help="with and without the allow-list")
    opts = parser.parse_args()
    rows = {}
    if opts.fork_server:
        print(start_fork_server())
        for label, cell in FIRST_CELLS.items():
            one_run(cell)  # warm the page cache
            rows[f"forked, {label}"] = [one_run(cell) for _ in range(opts.repeat)]
    elif opts.landlock:
        for layers in ("default", "off"):
            os.environ["DLHW_KERNEL_LAYERS"] = "on" if layers == "default" else "off"
            one_run()  # warm the page cache
            for i in range(2 * opts.repeat):
                allow_list = i % 2 == 0
                if allow_list:
                    os.environ.pop("DLHW_LANDLOCK", None)
                else:
                    os.environ["DLHW_LANDLOCK"] = "off"
                label = f"layers {layers}, Landlock {'on' if allow_list else 'off'}"
                rows.setdefault(label, []).append(one_run())
        os.environ.pop("DLHW_LANDLOCK", None)
    else:
        for layers in ("default", "off"):
            os.environ["DLHW_KERNEL_LAYERS"] = "on" if layers == "default" else "off"
            one_run()  # warm the page cache
            rows[f"layers {layers}"] = [one_run() for _ in range(opts.repeat)]
    for label, runs in rows.items():
        start = statistics.median(r[0] for r in runs)
        close = statistics.median(r[1] for r in runs)
        print(f"{label:32s} start {start * 1000:6.1f} ms  close {close * 1000:6.1f} ms "
              f"(medians of {len(runs)})\n  {runs[0][2]}")  # fmt: skip


if __name__ == "__main__":
    main()
