"""C = a @ b with a choice of backend: "numpy" (reference), "cpu" (C++), "cuda" (GPU)."""

from __future__ import annotations

import numpy as np

from .backends import BACKENDS, cpu_module, cuda_device_status, cuda_module
from .validation import check_operands


def numpy_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy's own a @ b, under the same operand contract as the other backends."""
    check_operands(a, b, who="numpy_matmul")
    return np.matmul(a, b)


def cpu_matmul(a: np.ndarray, b: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """a @ b with the C++ kernel, float32 or float64. threads=None: OpenMP's default."""
    check_operands(a, b, who="cpu_matmul")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"cpu_matmul: threads must be a positive int or None, got {threads!r}")
    return cpu_module().matmul(a, b, threads or 0)


def cuda_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b with the CUDA kernel (float32 only); copies the operands to the GPU and back."""
    check_operands(a, b, dtypes=(np.dtype(np.float32),), who="cuda_matmul")
    module = cuda_module()
    count, why = cuda_device_status()
    if count == 0:
        raise RuntimeError(f"no CUDA device available for cuda_matmul: {why}")
    return module.matmul(a, b)


def matmul(
    a: np.ndarray, b: np.ndarray, backend: str = "cpu", *, threads: int | None = None
) -> np.ndarray:
    """a @ b on `backend`, one of "numpy", "cpu", "cuda" (see available_backends())."""
    if backend == "numpy":
        return numpy_matmul(a, b)
    if backend == "cpu":
        return cpu_matmul(a, b, threads=threads)
    if backend == "cuda":
        return cuda_matmul(a, b)
    raise ValueError(f"matmul: unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
