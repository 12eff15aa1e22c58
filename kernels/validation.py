"""Operand checks of every matmul backend: one contract, whichever backend runs.

Wrong types and dtypes raise TypeError; wrong ranks, layouts and shapes raise ValueError. Each
message names the operand and the problem. Nothing is converted or copied silently.
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES: tuple[np.dtype, ...] = (np.dtype(np.float32), np.dtype(np.float64))


def check_operands(
    a: object, b: object, *, dtypes: tuple[np.dtype, ...] = FLOAT_DTYPES, who: str = "matmul"
) -> tuple[np.ndarray, np.ndarray]:
    """Checks that a (m x k) and b (k x n) are 2-D, C-contiguous, same-dtype numpy arrays."""
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{who}: {name} must be a numpy.ndarray, got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(
                f"{who}: {name} must be a 2-D array, got {x.ndim}-D with shape {x.shape}"
            )
    assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
    if a.dtype != b.dtype:
        raise TypeError(f"{who}: a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.dtype not in dtypes:
        allowed = " or ".join(str(d) for d in dtypes)
        raise TypeError(f"{who}: a and b have dtype {a.dtype}; expected {allowed}")
    for name, x in (("a", a), ("b", b)):
        if not x.flags.c_contiguous:
            raise ValueError(
                f"{who}: {name} must be C-contiguous (row-major); pass np.ascontiguousarray({name})"
            )
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"{who}: shapes {a.shape} and {b.shape} are not aligned: "
            f"a.shape[1] ({a.shape[1]}) != b.shape[0] ({b.shape[0]})"
        )
    return a, b
