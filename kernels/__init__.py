"""Matrix-multiply kernels for the homeworks: a C++ CPU kernel and a CUDA kernel.

    from dlhw.kernels import matmul, available_backends
    c = matmul(a, b, backend="cpu")      # "numpy" | "cpu" | "cuda"

Operands are 2-D, C-contiguous numpy arrays of one dtype: float32 or float64 ("cuda": float32).
"""

from __future__ import annotations

from .backends import BACKENDS, available_backends, cuda_available, info
from .matmul import cpu_matmul, cuda_matmul, matmul, numpy_matmul

__all__ = [
    "BACKENDS",
    "available_backends",
    "cpu_matmul",
    "cuda_available",
    "cuda_matmul",
    "info",
    "matmul",
    "numpy_matmul",
]
