"""GFLOP/s of dlhw.kernels' matmuls next to their references, measured side by side in one run.

CPU: our C++ kernel on one thread vs numpy (OpenBLAS) on one thread, float32.
GPU (when one is usable): our CUDA kernel vs torch.matmul in float32 with TF32 off, both timed
with CUDA events around the kernel alone on the same device-resident torch tensors.

Each figure is the median of --repeats timed runs after warm-up, reference and ours alternating
(the best run is shown in brackets). Ratio = ours / reference, from the medians.

    python benchmarks/bench_kernels.py                      # CPU sizes, and GPU ones if possible
    python benchmarks/bench_kernels.py --sizes 1024 --no-gpu --json out/bench.json
"""

from __future__ import annotations

import os

# Before numpy is imported: OpenBLAS (and MKL, if numpy uses it) read their thread counts when
# loaded, and the comparison is single-thread against single-thread.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from dlhw import kernels
from dlhw.kernels import backends

CPU_SIZES = [256, 512, 1024, 2048, 1023]
GPU_SIZES = [1024, 2048, 4096, 4095]


def gflops(n: int, seconds: float) -> float:
    return 2.0 * n**3 / seconds / 1e9


def time_host_pair(
    ref: Callable[[], object], ours: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Times ref and ours alternately, so that a noisy neighbour slows both alike."""
    ref(), ours()  # warm-up: page faults, packing buffers, OpenBLAS's own buffers
    ref_times: list[float] = []
    our_times: list[float] = []
    for _ in range(repeats):
        for fn, times in ((ref, ref_times), (ours, our_times)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return ref_times, our_times


def row(label: str, n: int, ref: list[float], ours: list[float]) -> dict[str, Any]:
    ref_med, ours_med = statistics.median(ref), statistics.median(ours)
    result = {
        "size": n,
        "reference_gflops": gflops(n, ref_med),
        "reference_best_gflops": gflops(n, min(ref)),
        "ours_gflops": gflops(n, ours_med),
        "ours_best_gflops": gflops(n, min(ours)),
        "ratio": ref_med / ours_med,
    }
    print(
        f"{label:>5} {n:>6}  {result['reference_gflops']:>9.1f} [{result['reference_best_gflops']:>7.1f}]"
        f"  {result['ours_gflops']:>9.1f} [{result['ours_best_gflops']:>7.1f}]"
        f"  {result['ratio']:>6.2f}",
        end="",
    )
    return result


def bench_cpu(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    print("\nCPU float32, one thread each: numpy (OpenBLAS) vs dlhw.kernels.cpu_matmul")
    print(
        f"{'':>5} {'n':>6}  {'numpy GF/s':>19}  {'ours GF/s':>19}  {'ratio':>6}  max|diff|/max|c|"
    )
    rng = np.random.default_rng(0)
    results = []
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        ref, ours = time_host_pair(
            partial(np.matmul, a, b), partial(kernels.cpu_matmul, a, b, threads=1), repeats
        )
        result = row("cpu", n, ref, ours)
        expected = a @ b
        result["rel_diff"] = float(
            np.abs(kernels.cpu_matmul(a, b, threads=1) - expected).max() / np.abs(expected).max()
        )
        print(f"  {result['rel_diff']:.1e}")
        results.append(result)
    return results


def bench_gpu(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cuda = backends.cuda_module()
    print(f"\nGPU float32 ({cuda.device_name(0)}): torch.matmul (TF32 off) vs dlhw CUDA kernel")
    print(
        f"{'':>5} {'n':>6}  {'torch GF/s':>19}  {'ours GF/s':>19}  {'ratio':>6}  max|diff|/max|c|"
    )

    def time_device_pair(
        ref: Callable[[], object], ours: Callable[[], object]
    ) -> tuple[list[float], list[float]]:
        for _ in range(3):  # warm-up: cuBLAS heuristics, module loading, clocks
            ref(), ours()
        torch.cuda.synchronize()
        ref_times: list[float] = []
        our_times: list[float] = []
        for _ in range(repeats):
            for fn, times in ((ref, ref_times), (ours, our_times)):
                start = torch.cuda.Event(enable_timing=True)
                stop = torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                times.append(start.elapsed_time(stop) / 1e3)
        return ref_times, our_times

    results = []
    generator = torch.Generator(device="cuda").manual_seed(0)
    for n in sizes:
        a = torch.randn((n, n), device="cuda", dtype=torch.float32, generator=generator)
        b = torch.randn((n, n), device="cuda", dtype=torch.float32, generator=generator)
        c = torch.empty((n, n), device="cuda", dtype=torch.float32)
        stream = torch.cuda.current_stream().cuda_stream

        ours = partial(
            cuda.matmul_device_ptr, a.data_ptr(), b.data_ptr(), c.data_ptr(), n, n, n, stream
        )
        c_ref = torch.empty_like(c)
        ref_times, our_times = time_device_pair(partial(torch.matmul, a, b, out=c_ref), ours)
        result = row("gpu", n, ref_times, our_times)
        ours()
        expected = torch.matmul(a.double(), b.double())
        result["rel_diff"] = float((c.double() - expected).abs().max() / expected.abs().max())
        print(f"  {result['rel_diff']:.1e}")
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=CPU_SIZES, help="CPU sizes n")
    parser.add_argument("--gpu-sizes", type=int, nargs="+", default=GPU_SIZES)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-cpu", action="store_true")
    parser.add_argument("--no-gpu", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    facts = kernels.info()
    print("dlhw.kernels:", json.dumps(facts))
    print("numpy", np.__version__, "| OPENBLAS_NUM_THREADS =", os.environ["OPENBLAS_NUM_THREADS"])
    report: dict[str, Any] = {"info": facts, "numpy": np.__version__}
    if not args.no_cpu:
        report["cpu"] = bench_cpu(args.sizes, args.repeats)
    if args.no_gpu:
        pass
    elif not kernels.cuda_available():
        print(f"\nGPU: skipped, {backends.cuda_device_status()[1]}")
    else:
        try:
            import torch
        except ImportError:
            print("\nGPU: skipped, torch is not installed (the reference)")
        else:
            if torch.cuda.is_available():
                report["torch"] = torch.__version__
                report["gpu"] = bench_gpu(args.gpu_sizes, args.repeats)
            else:
                print(f"\nGPU: skipped, torch {torch.__version__} has no CUDA")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
