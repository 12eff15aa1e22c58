# Public tests for hw3_backprop: generated from the course's master copy by `make assignments`.
# Check your notebook with:  autograder check hw3 hw3_backprop.ipynb
"""Public tests for homework 3 (manual backpropagation): run them on your notebook before submitting.

`sub` is your notebook's classes, run in a separate process by the grader: `sub.Linear(4, 3)`
makes your module there, `lin.forward(X)` sends X and returns your output, `lin.dW` reads your
gradient back, and `a * b` on two `sub.Value`s runs your `__mul__`. Each test here is worked out by
hand. The hidden tests check much more: every module against PyTorch and numerical gradients on
random shapes (batch 1, non-square layers), random expression graphs that reuse nodes, the
topological order, a 10,000-node chain, and a second graph after a first.
"""

from __future__ import annotations

import numpy as np
import pytest

# Each expected value below is a few exact operations on small numbers: float64 rounding is
# below 1e-15, so 1e-10 accepts any order of operations and nothing else.
RTOL = 1e-10
ATOL = 1e-12


@pytest.mark.points(1)
def test_linear_by_hand(sub):
    """public: Linear, forward and backward on a 2 x 2 example"""
    lin = sub.Linear(2, 2, rng=0)
    lin.W = np.array([[1.0, 2.0], [3.0, 4.0]])
    lin.b = np.array([[0.5, -0.5]])
    X = np.array([[1.0, 1.0], [2.0, 0.0]])
    # X @ W + b: [1 + 3, 2 + 4] + b and [2, 4] + b.
    np.testing.assert_allclose(lin.forward(X), [[4.5, 5.5], [2.5, 3.5]], rtol=RTOL, atol=ATOL)
    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    # dX = G @ W.T = W.T; dW = X.T @ G = X.T; db = the column sums of G.
    np.testing.assert_allclose(lin.backward(G), [[1.0, 3.0], [2.0, 4.0]], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(lin.dW, [[1.0, 2.0], [1.0, 0.0]], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(lin.db, [[1.0, 1.0]], rtol=RTOL, atol=ATOL)


@pytest.mark.points(1)
def test_relu_by_hand(sub):
    """public: ReLU passes the gradient where the input was positive"""
    relu = sub.ReLU()
    np.testing.assert_allclose(relu.forward(np.array([[-1.0, 2.0, 0.0]])), [[0.0, 2.0, 0.0]])
    np.testing.assert_allclose(relu.backward(np.array([[5.0, 6.0, 7.0]])), [[0.0, 6.0, 0.0]])


@pytest.mark.points(1)
def test_sigmoid_at_zero(sub):
    """public: Sigmoid at 0 is 1/2, with derivative 1/4"""
    sig = sub.Sigmoid()
    np.testing.assert_allclose(sig.forward(np.zeros((1, 2))), [[0.5, 0.5]], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        sig.backward(np.array([[1.0, 4.0]])), [[0.25, 1.0]], rtol=RTOL, atol=ATOL
    )


@pytest.mark.points(1)
def test_mse_by_hand(sub):
    """public: MSELoss is the mean over every entry"""
    mse = sub.MSELoss()
    loss = mse.forward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    np.testing.assert_allclose(loss, 2.5, rtol=RTOL)  # (1 + 4) / 2
    np.testing.assert_allclose(mse.backward(), [[1.0, 2.0]], rtol=RTOL, atol=ATOL)  # 2 d / 2


@pytest.mark.points(2)
def test_lecture_example(sub):
    """public: the lecture's example f = 2 (x y + max(z, w))"""
    x, y, z, w = sub.Value(-2.0), sub.Value(5.0), sub.Value(-4.0), sub.Value(2.0)
    f = 2 * (x * y + z.maximum(w))
    f.backward()
    np.testing.assert_allclose(f.data, -16.0, rtol=RTOL)
    grads = [x.grad, y.grad, z.grad, w.grad]
    # df/dx = 2y, df/dy = 2x, the max routes the gradient 2 to w only.
    np.testing.assert_allclose(grads, [10.0, -4.0, 0.0, 2.0], rtol=RTOL, atol=ATOL)


@pytest.mark.points(1)
def test_value_fork(sub):
    """public: a node used three times gets the sum of the three gradients"""
    a = sub.Value(3.0)
    f = a * a + a
    f.backward()
    np.testing.assert_allclose(a.grad, 7.0, rtol=RTOL)  # 2a + 1
