"""The Gradescope autograder under Gradescope's resource shape, on this machine.

Builds the zip for a homework, unpacks it into a temporary root laid out like Gradescope's, runs
setup.sh (timed), then run_autograder on the reference notebook, N times each, side by side:
unconstrained, and confined like Gradescope's default container (one CPU via taskset, 768 MB of
memory for the whole process tree via a cgroup v1 memory controller). Prints median wall times,
the cgroup's peak memory and whether it ever hit its limit.

    .venv/bin/python benchmarks/bench_gradescope.py [--homework hw1] [--runs 3]

Needs root (cgroups) and a writable /sys/fs/cgroup/memory; without them only the unconstrained
runs are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dlhw.autograder.gradescope import (
    BuildSettings,
    build_autograder_zip,
    local_env,
    prepare_submission,
    unpack,
)
from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.recording import needs_live_torch

CGROUP_V1_MEMORY = Path("/sys/fs/cgroup/memory")
MEMORY_LIMIT = 768 * 10**6  # Gradescope's "768 MB"


def memory_cgroup() -> Path | None:
    if os.geteuid() != 0 or not (CGROUP_V1_MEMORY / "cgroup.procs").exists():
        return None
    group = CGROUP_V1_MEMORY / f"dlhw-bench-gradescope-{os.getpid()}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(MEMORY_LIMIT))
    swap = group / "memory.memsw.limit_in_bytes"
    if swap.exists():
        swap.write_text(str(MEMORY_LIMIT))  # no swapping past the limit either
    return group


def run_once(root: Path, group: Path | None) -> float:
    script = f"exec bash {root / 'run_autograder'} >/dev/null"
    if group is not None:  # join the cgroup, then keep to one CPU: all children inherit both
        script = f"echo $$ > {group / 'cgroup.procs'}; exec taskset -c 0 bash -c '{script}'"
    start = time.perf_counter()
    subprocess.run(["bash", "-c", script], env=local_env(root), check=True, cwd=root)
    elapsed = time.perf_counter() - start
    results = json.loads((root / "results" / "results.json").read_text())
    total = sum(t["max_score"] for t in results["tests"])
    if results["score"] != total:
        raise SystemExit(f"the reference scored {results['score']}/{total}: {results['output']}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homework", default="hw1")
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    hw = get_homework(opts.homework)
    root = Path(tempfile.mkdtemp(prefix="dlhw-bench-gradescope-"))
    os.chmod(root, 0o755)
    group = None
    try:
        zip_path = root / f"{hw.id}.zip"
        # As `autograder gradescope` builds it: torch only if a test still needs it live.
        build_autograder_zip(hw, zip_path, BuildSettings(needs_torch=needs_live_torch(hw)))
        print(f"zip: {zip_path.stat().st_size / 1024:.0f} KiB")
        unpack(zip_path, root)
        start = time.perf_counter()
        subprocess.run(
            ["bash", str(root / "source" / "setup.sh")], env=local_env(root), check=True,
            capture_output=True,
        )  # fmt: skip
        venv = root / "dlhw-venv"
        size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
        print(f"setup.sh: {time.perf_counter() - start:.1f} s, venv {size / 2**20:.0f} MiB")
        prepare_submission(root, hw.master)
        free = [run_once(root, None) for _ in range(opts.runs)]
        print(f"run_autograder, unconstrained:      median {statistics.median(free):.2f} s  {free}")
        group = memory_cgroup()
        if group is None:
            print("no writable cgroup v1 memory controller (or not root): constrained run skipped")
            return
        shaped = [run_once(root, group) for _ in range(opts.runs)]
        peak = int((group / "memory.max_usage_in_bytes").read_text())
        hits = int((group / "memory.failcnt").read_text())
        print(
            f"run_autograder, 1 CPU + 768 MB:     median {statistics.median(shaped):.2f} s  "
            f"{[round(s, 2) for s in shaped]}"
        )
        print(
            f"  peak memory of the tree {peak / 1e6:.0f} MB (limit 768 MB), limit hit {hits} times"
        )
        print(
            f"  ratio constrained/unconstrained: {statistics.median(shaped) / statistics.median(free):.2f}"
        )
    finally:
        if group is not None:
            for pid in (group / "cgroup.procs").read_text().split():
                (CGROUP_V1_MEMORY / "cgroup.procs").write_text(pid)
            group.rmdir()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
