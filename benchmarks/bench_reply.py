"""What a reply of a given size costs: a student function returning a prepared array, called
through a real sandboxed session (encode in the worker, the pipe, decode in the grader).

    .venv/bin/python benchmarks/bench_reply.py [--calls 20]

Prints the median time per call and the throughput for each size; the array is made once, in a
notebook cell, so only its crossing is timed.
"""

from __future__ import annotations

import argparse
import statistics
import time

from dlhw.autograder.confinement import Limits
from dlhw.autograder.session import Session

SIZES = {"a float": "1.0", "8 KB": "np.ones(1_000)", "1.7 MB (hw5's 300 x 700)": "np.ones((300, 700))",
         "16 MB": "np.ones(2_000_000)"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    opts = parser.parse_args()
    cells = ["import numpy as np"] + [
        f"V{i} = {expr}\ndef f{i}():\n    return V{i}" for i, expr in enumerate(SIZES.values())
    ]
    with Session(Limits()) as session:
        session.run_cells(list(enumerate(cells)))
        assert all(r.status == "ok" for r in session.reports), session.reports
        for i, label in enumerate(SIZES):
            session.call(f"f{i}", (), {})  # warm: the first call of each pays for page faults
            times = []
            for _ in range(opts.calls):
                start = time.perf_counter()
                reply = session.call(f"f{i}", (), {})
                times.append(time.perf_counter() - start)
            assert reply["ok"], reply
            median = statistics.median(times)
            size = getattr(reply["value"], "nbytes", None)
            rate = f"{size / median / 1e6:8.0f} MB/s" if size else ""
            print(f"{label:<28} {median * 1000:7.2f} ms  {rate}")


if __name__ == "__main__":
    main()
