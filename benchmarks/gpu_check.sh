#!/bin/bash
# On a machine with an NVIDIA GPU (sm_90 by default: H100/H200), from the repository root:
# builds dlhw with its CUDA kernel, runs the kernel tests (the CUDA device tests included),
# runs the kernel under compute-sanitizer (memcheck, racecheck, initcheck) on odd shapes, times
# it against torch.matmul (TF32 off), and, with FASHION_MNIST=DIR, trains homework 2's reference
# with each matmul backend. Needs python3 with numpy, pytest, torch, pybind11, scikit-build-core,
# cmake, nvcc and compute-sanitizer; nbformat for the training part.
#
#     OUT=/tmp/gpu FASHION_MNIST=/usr/share/datasets/fashion-mnist bash benchmarks/gpu_check.sh
set -o pipefail
OUT=${OUT:-/tmp/dlhw-gpu}
mkdir -p "$OUT"
nvidia-smi -L; nvcc --version | tail -1
export CMAKE_ARGS="${CMAKE_ARGS:--DDLHW_CUDA_ARCHITECTURES=90}"
python3 -m pip install -q --no-build-isolation --no-deps --no-cache-dir --target /tmp/dlhw-site . \
    >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
export PYTHONPATH=/tmp/dlhw-site${PYTHONPATH:+:$PYTHONPATH}
# --noconftest: the kernel tests need neither the grader nor its dependencies.
python3 -m pytest --noconftest -p no:cacheprovider -q -rs tests/test_kernels.py \
    tests/test_kernels_cuda.py 2>&1 | tee "$OUT/pytest.log" | tail -8
status=${PIPESTATUS[0]}
cat >/tmp/dlhw-sanitize.py <<'PY'
import numpy as np
from dlhw import kernels
rng = np.random.default_rng(0)
for m, k, n in [(1, 1, 1), (7, 13, 5), (65, 129, 63), (127, 1, 255), (300, 517, 260),
                (3, 5000, 4), (0, 5, 3), (4, 0, 3)]:
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = kernels.cuda_matmul(a, b)
    err = np.abs(c.astype(np.float64) - a.astype(np.float64) @ b.astype(np.float64)).max(initial=0)
    print(m, k, n, "max abs error vs float64", err)
PY
for tool in memcheck racecheck initcheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 python3 /tmp/dlhw-sanitize.py \
        >"$OUT/sanitize_$tool.log" 2>&1
    code=$?
    echo "compute-sanitizer $tool: exit $code, $(grep -E 'SUMMARY' "$OUT/sanitize_$tool.log")"
    [ $code -eq 0 ] || status=1
done
python3 benchmarks/bench_kernels.py --no-cpu --repeats 9 --gpu-sizes 1024 2048 4096 4095 8192 \
    --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log" | tail -7
if [ -n "$FASHION_MNIST" ]; then
    for backend in numpy cpu cuda; do
        python3 benchmarks/bench_train_hw2.py --data-dir "$FASHION_MNIST" --repeat 3 \
            --backend $backend 2>&1 | tee "$OUT/train_$backend.log" | tail -3
    done
fi
exit $status
