"""Homework 2's reference solution gives the same numbers with every matmul backend."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from conftest import reference_source
from dlhw.autograder.homeworks import Homework, get_homework

kernels = pytest.importorskip("dlhw.kernels")


@pytest.fixture(scope="module")
def hw2() -> Homework:
    return get_homework("hw2")


@pytest.fixture(scope="module")
def reference(hw2: Homework) -> dict:
    namespace: dict = {}
    for source in reference_source(hw2):
        exec(compile(source, "<reference>", "exec"), namespace)  # the master notebook, trusted
    return namespace


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((300, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=300).astype(np.uint8)
    W1 = (rng.standard_normal((784, 64)) / np.sqrt(64)).astype(np.float32)
    W2 = (rng.standard_normal((64, 10)) / np.sqrt(10)).astype(np.float32)
    return X, y, W1, W2


@pytest.mark.parametrize("backend", [b for b in kernels.available_backends() if b != "numpy"])
def test_backends_agree_with_numpy_in_float32(reference, backend):
    X, y, W1, W2 = problem()
    X64, W1_64, W2_64 = (a.astype(np.float64) for a in (X, W1, W2))
    reference["BACKEND"] = "numpy"
    logits_64 = reference["two_layer_forward"](X64, W1_64, W2_64)
    dW1_64, dW2_64 = reference["two_layer_grads"](X64, y, W1_64, W2_64)
    W1_after, W2_after = W1_64.copy(), W2_64.copy()
    reference["nn_epoch"](X64, y, W1_after, W2_after, lr=0.2, batch=100)
    try:
        reference["BACKEND"] = backend
        logits = reference["two_layer_forward"](X, W1, W2)
        dW1, dW2 = reference["two_layer_grads"](X, y, W1, W2)
        W1_run, W2_run = W1.copy(), W2.copy()
        reference["nn_epoch"](X, y, W1_run, W2_run, lr=0.2, batch=100)
    finally:
        reference["BACKEND"] = "numpy"
    assert dW1.dtype == dW2.dtype == W1_run.dtype == W2_run.dtype == np.float32
    # One float32 product of inner size K errs by at most ~K * 2**-24 times the sum of |terms|;
    # K <= 784 and the terms are O(1): 784 * 6e-8 ~ 5e-5 of the largest entries, at worst.
    for got, want in ((logits, logits_64), (dW1, dW1_64), (dW2, dW2_64)):
        np.testing.assert_allclose(got, want, rtol=0, atol=5e-5 * np.abs(want).max())
    # A ReLU mask could flip where a pre-activation is that close to 0 (one example's term of a
    # gradient entry would then differ); the premise, checked: the backend's masks are exact.
    mask = kernels.matmul(X, W1, backend=backend) > 0
    np.testing.assert_array_equal(mask, X64 @ W1_64 > 0)
    # Three SGD steps compound such errors; 1e-3 of the weights' scale bounds them, while a wrong
    # product (a transpose, a dropped row) is off by order 1 of that scale.
    for got, want in ((W1_run, W1_after), (W2_run, W2_after)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-3 * np.abs(want).max())


def test_master_notebook_defaults_to_numpy(hw2):
    nb = nbformat.read(hw2.master, as_version=4)
    assert any('BACKEND = "numpy"' in c.source for c in nb.cells if c.cell_type == "code")
