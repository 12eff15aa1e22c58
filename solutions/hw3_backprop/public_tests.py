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

from dlhw.autograder.checks import assert_close

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
    assert_close(
        lin.forward(X),
        [[4.5, 5.5], [2.5, 3.5]],
        rtol=RTOL,
        atol=ATOL,
        name="forward's output",
        note="The test set lin.W and lin.b first: forward must use self.W and self.b.",
    )
    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    # dX = G @ W.T = W.T; dW = X.T @ G = X.T; db = the column sums of G.
    assert_close(lin.backward(G), [[1.0, 3.0], [2.0, 4.0]], rtol=RTOL, atol=ATOL, name="dX")
    assert_close(lin.dW, [[1.0, 2.0], [1.0, 0.0]], rtol=RTOL, atol=ATOL, name="dW")
    assert_close(lin.db, [[1.0, 1.0]], rtol=RTOL, atol=ATOL, name="db")


@pytest.mark.points(1)
def test_relu_by_hand(sub):
    """public: ReLU passes the gradient where the input was positive"""
    relu = sub.ReLU()
    out = relu.forward(np.array([[-1.0, 2.0, 0.0]]))
    assert_close(out, [[0.0, 2.0, 0.0]], rtol=RTOL, atol=ATOL, name="forward's output")
    dX = relu.backward(np.array([[5.0, 6.0, 7.0]]))
    assert_close(dX, [[0.0, 6.0, 0.0]], rtol=RTOL, atol=ATOL, name="backward's dX")


@pytest.mark.points(1)
def test_sigmoid_at_zero(sub):
    """public: Sigmoid at 0 is 1/2, with derivative 1/4"""
    sig = sub.Sigmoid()
    out = sig.forward(np.zeros((1, 2)))
    assert_close(out, [[0.5, 0.5]], rtol=RTOL, atol=ATOL, name="forward's output")
    dX = sig.backward(np.array([[1.0, 4.0]]))
    assert_close(dX, [[0.25, 1.0]], rtol=RTOL, atol=ATOL, name="backward's dX")


@pytest.mark.points(1)
def test_mse_by_hand(sub):
    """public: MSELoss is the mean over every entry"""
    mse = sub.MSELoss()
    loss = mse.forward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    assert_close(loss, 2.5, rtol=RTOL, atol=ATOL, name="the loss")  # (1 + 4) / 2
    # 2 d / 2
    assert_close(mse.backward(), [[1.0, 2.0]], rtol=RTOL, atol=ATOL, name="backward's output")


@pytest.mark.points(2)
def test_lecture_example(sub):
    """public: the lecture's example f = 2 (x y + max(z, w))"""
    x, y, z, w = sub.Value(-2.0), sub.Value(5.0), sub.Value(-4.0), sub.Value(2.0)
    f = 2 * (x * y + z.maximum(w))
    f.backward()
    assert_close(f.data, -16.0, rtol=RTOL, atol=ATOL, name="f.data")
    # df/dx = 2y, df/dy = 2x, the max routes the gradient 2 to w only.
    for name, node, grad in (("x", x, 10.0), ("y", y, -4.0), ("z", z, 0.0), ("w", w, 2.0)):
        assert_close(node.grad, grad, rtol=RTOL, atol=ATOL, name=f"{name}.grad")


@pytest.mark.points(1)
def test_value_fork(sub):
    """public: a node used three times gets the sum of the three gradients"""
    a = sub.Value(3.0)
    f = a * a + a
    f.backward()
    assert_close(a.grad, 7.0, rtol=RTOL, atol=ATOL, name="a.grad")  # 2a + 1
