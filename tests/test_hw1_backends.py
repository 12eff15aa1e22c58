"""Homework 1's reference solution gives the same numbers with every matmul backend."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from conftest import reference_source

kernels = pytest.importorskip("dlhw.kernels")


@pytest.fixture(scope="module")
def reference(hw1) -> dict:
    namespace: dict = {}
    for source in reference_source(hw1):
        exec(compile(source, "<reference>", "exec"), namespace)  # the master notebook, trusted
    return namespace


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((500, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=500).astype(np.uint8)
    theta = (0.01 * rng.standard_normal((784, 10))).astype(np.float32)
    return X, y, theta


@pytest.mark.parametrize("backend", [b for b in kernels.available_backends() if b != "numpy"])
def test_backends_agree_with_numpy_in_float32(reference, backend):
    X, y, theta = problem()
    reference["BACKEND"] = "numpy"
    grad_64 = reference["softmax_regression_grad"](
        X.astype(np.float64), y, theta.astype(np.float64)
    )
    theta_64 = theta.astype(np.float64)
    reference["softmax_regression_epoch"](X.astype(np.float64), y, theta_64, lr=0.2, batch=100)
    try:
        reference["BACKEND"] = backend
        grad = reference["softmax_regression_grad"](X, y, theta)
        theta_run = theta.copy()
        reference["softmax_regression_epoch"](X, y, theta_run, lr=0.2, batch=100)
    finally:
        reference["BACKEND"] = "numpy"
    assert grad.dtype == np.float32 and theta_run.dtype == np.float32
    # One float32 product of inner size K errs by at most ~K * 2**-24 times the sum of |terms|;
    # here K <= 784 and the terms are O(1): 784 * 6e-8 ~ 5e-5 of the largest entries, at worst.
    np.testing.assert_allclose(grad, grad_64, rtol=0, atol=5e-5 * np.abs(grad_64).max())
    # Five SGD steps compound such errors through the softmax; 1e-3 of theta's scale bounds them,
    # while a wrong product (a transpose, a dropped row) is off by order 1 of that scale.
    np.testing.assert_allclose(theta_run, theta_64, rtol=0, atol=1e-3 * np.abs(theta_64).max())


def test_master_notebook_defaults_to_numpy(hw1):
    nb = nbformat.read(hw1.master, as_version=4)
    assert any('BACKEND = "numpy"' in c.source for c in nb.cells if c.cell_type == "code")
