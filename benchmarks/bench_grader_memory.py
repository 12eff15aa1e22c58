"""Peak memory of the trusted grader when a submission sends the largest reply the limits admit.

A patched worker can send any frame without holding it in memory (tests/corpus/flood.py), so
every size up to `Limits.max_value_bytes` reaches the grader. Each scenario grades homework 1 in a
fresh process and prints that process's peak resident set (getrusage RUSAGE_SELF: the grader
alone, not the sandboxed worker), beside the reference notebook's as the baseline:

    .venv/bin/python benchmarks/bench_grader_memory.py

Target (issue #8): every peak <= 768 MB (Gradescope's default container memory).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "corpus"))
from flood import FLOOD  # noqa: E402

from corpus_kit import HW, notebook, reference, src, with_functions  # noqa: E402
from dlhw.autograder.confinement import Limits  # noqa: E402

GRADER = """
import json, sys
from pathlib import Path
from dlhw.autograder.confinement import Limits
from dlhw.autograder.grading import grade
from dlhw.autograder.homeworks import get_homework
# A short call limit only saves time: a flooding call never returns, so the next one times out.
limits = Limits(call_timeout_s=2.0)
outcome = grade(get_homework("hw1"), Path(sys.argv[1]), Path(sys.argv[2]), limits=limits)
# VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into
# ru_maxrss (a pytest process that imported torch would set the floor at ~400 MB).
hwm = next(ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:'))
peak = int(hwm.split()[1]) * 1024
print(json.dumps({"peak": peak, "score": outcome.score, "max": outcome.max_score}))
"""

LIMIT = Limits().max_value_bytes
LARGEST = LIMIT - 2**16  # the frame's header takes a little of the limit


def scenarios() -> dict[str, list]:
    grad = "def softmax_regression_grad(X, y, theta):\n    flood({n}, {dtype!r})"
    return {
        "reference (baseline)": list(reference()),
        "gradient: uint8 array": [
            *with_functions(softmax_regression_grad=grad.format(n=LARGEST, dtype="|u1")),
            src(FLOOD),
        ],
        "gradient: float64 array": [
            *with_functions(softmax_regression_grad=grad.format(n=LARGEST, dtype="<f8")),
            src(FLOOD),
        ],
        # The epoch tests replay SGD with the student's gradient when the epoch is wrong, and
        # convert each gradient to float64: the largest conversion a hidden test makes.
        "gradient: uint8 array, epoch converts it": [
            *with_functions(
                softmax_regression_grad=grad.format(n=LARGEST, dtype="|u1"),
                softmax_regression_epoch=(
                    "def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):\n"
                    "    theta -= 0.001"
                ),
            ),
            src(FLOOD),
        ],
        "every function: uint8 array": [
            *with_functions(
                **{
                    name: f"def {name}(*args, **kwargs):\n    flood({LARGEST}, '|u1')"
                    for name in HW.functions
                }
            ),
            src(FLOOD),
        ],
        "epoch: 3 uint8 arrays as its arguments": [
            *with_functions(
                softmax_regression_epoch=(
                    "def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):\n"
                    f"    flood({LARGEST // 3}, '|u1', where='args', count=3)"
                )
            ),
            src(FLOOD),
        ],
    }


def main() -> int:
    print(f"largest admitted reply: {LIMIT / 2**20:.0f} MiB (Limits.max_value_bytes)")
    worst = 0
    with tempfile.TemporaryDirectory() as tmp:
        for label, cells in scenarios().items():
            path = Path(tmp) / f"{len(label)}.ipynb"
            path.write_text(nbformat.writes(notebook(cells)))
            out = subprocess.run(
                [sys.executable, "-c", GRADER, str(path), str(Path(tmp) / "results.json")],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            run = json.loads(out.stdout.strip().splitlines()[-1])
            worst = max(worst, run["peak"])
            print(
                f"{label:<42} grader peak RSS {run['peak'] / 2**20:7.1f} MiB"
                f"   score {run['score']:g}/{run['max']:g}"
            )
    verdict = "within" if worst <= 768 * 10**6 else "OVER"
    print(f"worst peak {worst / 2**20:.1f} MiB ({worst / 10**6:.0f} MB): {verdict} 768 MB")
    return 0 if worst <= 768 * 10**6 else 1


if __name__ == "__main__":
    sys.exit(main())
