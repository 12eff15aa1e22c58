"""Hidden tests of the object-test fixture homework (tests/objects_hw/objects_fixture.py).

They exercise what homework 3's tests will do through `sub`: construct declared classes, set and
read attributes, call methods, combine Values with operators in both operand orders, pass
objects back, and build a 10,000-node graph in a batch. Oracles: numpy forward passes written
here and central differences of plain-float functions, never the reference's own backward.

Tolerances: every quantity is float64. Central differences with h = 1e-6 on these smooth,
O(1)-sized functions are accurate to ~1e-8 absolute (truncation h^2 ~ 1e-12, rounding
eps / h ~ 1e-10 times the function's scale); atol 1e-6 leaves room for that and nothing more,
while a wrong derivative is off by O(1). Forward values are compared at rtol 1e-12 (one matmul).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlhw.autograder.checks import assert_close

pytestmark = [pytest.mark.visibility("visible")]
H = 1e-6  # central-difference step (see the module docstring)
GRAD_ATOL = 1e-6


def numeric_grad(f, x: np.ndarray) -> np.ndarray:
    """Central differences of the scalar function f at the array x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + H
        up = f(x)
        x[i] = old - H
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * H)
    return grad


def diff1(f, x: float) -> float:
    return (f(x + H) - f(x - H)) / (2 * H)


def problem(seed: int, batch: int, n_in: int, n_out: int):
    r = np.random.default_rng(seed)
    return (
        r.standard_normal((batch, n_in)),
        r.standard_normal((n_in, n_out)),
        r.standard_normal((1, n_out)),
        r.standard_normal((batch, n_out)),
    )


@pytest.mark.points(1)
def test_linear_parameters(sub):
    """Linear(4, 3): W is (4, 3) and b is (1, 3)"""
    lin = sub.Linear(4, 3, rng=7)
    assert np.shape(lin.W) == (4, 3), f"W has shape {np.shape(lin.W)}"
    assert np.shape(lin.b) == (1, 3), f"b has shape {np.shape(lin.b)}"


@pytest.mark.points(2)
@pytest.mark.parametrize("batch", [1, 5])
def test_linear_forward_backward(sub, batch):
    """Linear: forward and backward against central differences"""
    X, W, b, G = problem(batch, batch, 4, 3)
    lin = sub.Linear(4, 3, rng=7)
    lin.W, lin.b = W, b
    out = lin.forward(X)
    assert_close(out, X @ W + b, rtol=1e-12, atol=1e-12, name="forward")
    dX = lin.backward(G)

    def loss_of(X_, W_, b_):
        return float(np.sum(G * (X_ @ W_ + b_)))

    np.testing.assert_allclose(
        dX, numeric_grad(lambda x: loss_of(x, W, b), X.copy()), atol=GRAD_ATOL
    )
    np.testing.assert_allclose(
        lin.dW, numeric_grad(lambda w: loss_of(X, w, b), W.copy()), atol=GRAD_ATOL
    )
    np.testing.assert_allclose(
        lin.db, numeric_grad(lambda c: loss_of(X, W, c), b.copy()), atol=GRAD_ATOL
    )


@pytest.mark.points(2)
def test_sequential(sub):
    """Sequential(Linear, ReLU, Linear): forward and the gradient of its input"""
    X, W1, b1, _ = problem(3, 6, 4, 3)
    _, W2, b2, G = problem(4, 6, 3, 2)
    first, second = sub.Linear(4, 3, rng=7), sub.Linear(3, 2, rng=8)
    first.W, first.b, second.W, second.b = W1, b1, W2, b2
    net = sub.Sequential(first, sub.ReLU(), second)

    def forward(X_):
        return np.maximum(X_ @ W1 + b1, 0) @ W2 + b2

    assert_close(net.forward(X), forward(X), rtol=1e-12, atol=1e-12, name="forward")
    dX = net.backward(G)
    expected = numeric_grad(lambda x: float(np.sum(G * forward(x))), X.copy())
    assert_close(dX, expected, rtol=0, atol=GRAD_ATOL, name="backward's gradient of X")
    # The Linear passed in is the worker's own object: its gradient was filled by backward.
    assert np.shape(first.dW) == (4, 3)


@pytest.mark.points(2)
def test_value_expression(sub):
    """Value: c = a * b + a ** 2, then backward"""
    a, b = sub.Value(2.0), sub.Value(-3.0)
    c = a * b + a**2
    c.backward()
    assert_close(c.data, 2.0 * -3.0 + 2.0**2, rtol=1e-12, atol=0, name="c.data")
    assert_close(
        a.grad, diff1(lambda x: x * -3.0 + x**2, 2.0), rtol=0, atol=GRAD_ATOL, name="a.grad"
    )
    assert_close(
        b.grad, diff1(lambda y: 2.0 * y + 4.0, -3.0), rtol=0, atol=GRAD_ATOL, name="b.grad"
    )


@pytest.mark.points(2)
def test_value_reflected_operators(sub):
    """Value: numbers on the left, subtraction, division and negation"""
    x = 1.5
    a = sub.Value(x)
    d = (2.0 - a) * (3.0 * a) + 1.0 / a - a / 4.0 + (-a)
    d.backward()

    def f(t):
        return (2.0 - t) * (3.0 * t) + 1.0 / t - t / 4.0 - t

    assert_close(d.data, f(x), rtol=1e-12, atol=0, name="the expression's value")
    assert_close(a.grad, diff1(f, x), rtol=0, atol=GRAD_ATOL, name="a.grad")


@pytest.mark.points(1)
def test_value_reuse_adds_gradients(sub):
    """Value: a node used twice gets both gradients"""
    a = sub.Value(0.7)
    (a * a + a).backward()
    assert_close(a.grad, diff1(lambda t: t * t + t, 0.7), rtol=0, atol=GRAD_ATOL, name="a.grad")


@pytest.mark.points(1)
def test_value_tanh(sub):
    """Value.tanh and its derivative"""
    a = sub.Value(0.5)
    t = a.tanh()
    t.backward()
    assert_close(t.data, math.tanh(0.5), rtol=1e-12, atol=0, name="tanh")
    assert_close(a.grad, diff1(math.tanh, 0.5), rtol=0, atol=GRAD_ATOL, name="a.grad")


@pytest.mark.points(1)
def test_topo_sort(sub):
    """topo_sort: every node after the nodes it was computed from"""
    a, b = sub.Value(1.0), sub.Value(2.0)
    c = a * b
    d = c + a
    order = sub.topo_sort(d)
    assert isinstance(order, list), f"topo_sort returned {type(order).__name__}, not a list"
    # Proxies are one per object, so `is` finds the test's own nodes in the student's list.
    position = {id(node): i for i, node in enumerate(order)}
    assert all(id(n) in position for n in (a, b, c, d)), "topo_sort left out a node"
    assert position[id(a)] < position[id(c)] < position[id(d)] and position[id(b)] < position[id(c)]


@pytest.mark.points(2)
def test_chain_of_ten_thousand_nodes(sub):
    """Value: backward through a chain of 10,000 nodes (no recursion limit)"""
    with sub.batch(timeout=20.0):
        start = sub.Value(1.0)
        v = start
        for _ in range(10_000):
            v = v * 1.0001
        v.backward()
        grad = start.grad
    # d v / d start = 1.0001 ** 10000, computed here in floats (relative error ~1e-12).
    assert_close(grad.value, 1.0001**10_000, rtol=1e-9, atol=0, name="the start node's grad")
