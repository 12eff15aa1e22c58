# Public tests for hw4_optim: generated from the course's master copy by `make assignments`.
# Check your notebook with:  python selfcheck.py hw4_optim.ipynb
# (or, where the course package is installed:  autograder check hw4 hw4_optim.ipynb)
"""Public tests for homework 4 (optimizers): run them on your notebook before submitting.

`sub` is your notebook's classes, run in a separate process by the grader: `sub.SGD(params, lr=...)`
makes your optimizer there, `opt.step(grads)` sends gradients, and `opt.params` reads your
parameters back. Each test here is one or two steps worked out by hand. The hidden tests check
much more: dozens of steps against torch.optim, several arrays of different shapes and dtypes,
gradients that are zero for many steps, other hyperparameters, updates in place, gradients left
unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlhw.autograder.checks import assert_close

# Each expected value below is a few exact operations on small numbers: float64 rounding is
# below 1e-15, so 1e-10 accepts any order of operations and nothing else.
RTOL = 1e-10
ATOL = 1e-12


def params_after(opt, count):
    params = opt.params
    assert isinstance(params, (list, tuple)) and len(params) == count, (
        "opt.params should be the list of parameter arrays the optimizer was given"
    )
    for i, p in enumerate(params):
        assert isinstance(p, np.ndarray) and np.issubdtype(p.dtype, np.number), (
            f"opt.params[{i}] should be a numpy array of numbers, but it is {type(p).__name__}"
        )
    return params


@pytest.mark.points(1)
def test_sgd_one_step(sub):
    """public: SGD, one step"""
    opt = sub.SGD([np.array([1.0, 2.0]), np.array([[0.5]])], lr=0.1)
    opt.step([np.array([0.5, -1.0]), np.array([[2.0]])])
    w, b = params_after(opt, 2)
    # theta - lr * g: (1 - 0.05, 2 + 0.1) and 0.5 - 0.2.
    assert_close(w, [0.95, 2.1], rtol=RTOL, atol=ATOL, name="params[0] after the step")
    assert_close(b, [[0.3]], rtol=RTOL, atol=ATOL, name="params[1] after the step")


@pytest.mark.points(1)
def test_momentum_two_steps(sub):
    """public: Momentum, two steps in the course's form"""
    opt = sub.Momentum([np.zeros(1)], lr=1.0, beta=0.5)
    opt.step([np.ones(1)])
    # u1 = 0.5 * 0 + 0.5 * 1 = 0.5 (u starts at 0, and g is damped by 1 - beta); theta = -0.5
    after = params_after(opt, 1)[0]
    assert_close(after, [-0.5], rtol=RTOL, atol=ATOL, name="the parameter after one step")
    opt.step([np.ones(1)])
    # u2 = 0.5 * 0.5 + 0.5 * 1 = 0.75; theta = -0.5 - 0.75 = -1.25
    after = params_after(opt, 1)[0]
    assert_close(after, [-1.25], rtol=RTOL, atol=ATOL, name="the parameter after two steps")


@pytest.mark.points(1)
def test_nesterov_one_step(sub):
    """public: Nesterov, one step"""
    opt = sub.Nesterov([np.zeros(2)], lr=0.1, momentum=0.9)
    opt.step([np.array([1.0, -2.0])])
    # v1 = g; the step is lr * (g + 0.9 * v1) = 0.1 * 1.9 * g
    after = params_after(opt, 1)[0]
    assert_close(after, [-0.19, 0.38], rtol=RTOL, atol=ATOL, name="the parameter after one step")


@pytest.mark.points(1)
def test_adagrad_two_steps(sub):
    """public: Adagrad, two steps"""
    opt = sub.Adagrad([np.zeros(1)], lr=0.1)
    opt.step([np.array([3.0])])  # s = 9: the step is 0.1 * 3 / 3 = 0.1
    opt.step([np.array([4.0])])  # s = 25: the step is 0.1 * 4 / 5 = 0.08
    # eps = 1e-10 changes the result by about 1e-12, below the tolerance.
    after = params_after(opt, 1)[0]
    assert_close(after, [-0.18], rtol=1e-9, atol=1e-9, name="the parameter after two steps")


@pytest.mark.points(1)
def test_rmsprop_one_step(sub):
    """public: RMSprop, one step"""
    opt = sub.RMSprop([np.zeros(2)], lr=0.01, alpha=0.99)
    opt.step([np.array([2.0, -4.0])])
    # v = 0.01 * g^2, sqrt(v) = 0.1 |g|: the step is 0.01 * g / (0.1 |g| + 1e-8) ~ 0.1 sign(g)
    expected = -0.01 * np.array([2.0, -4.0]) / (0.1 * np.array([2.0, 4.0]) + 1e-8)
    after = params_after(opt, 1)[0]
    assert_close(after, expected, rtol=RTOL, atol=ATOL, name="the parameter after one step")


@pytest.mark.points(1)
def test_adam_first_step(sub):
    """public: Adam's first step is about lr in every coordinate"""
    g = np.array([1e-3, 1.0, -50.0])
    opt = sub.Adam([np.zeros(3)], lr=0.01)
    opt.step([g])
    # Bias-corrected, m_hat = g and v_hat = g^2 at t = 1: the step is lr * g / (|g| + eps).
    expected = -0.01 * g / (np.abs(g) + 1e-8)
    after = params_after(opt, 1)[0]
    assert_close(after, expected, rtol=RTOL, atol=ATOL, name="the parameter after one step")


@pytest.mark.points(1)
def test_adamw_first_step(sub):
    """public: AdamW decays the weights, then takes Adam's step"""
    opt = sub.AdamW([np.array([1.0, -2.0])], lr=0.1, weight_decay=0.1)
    opt.step([np.array([0.5, 0.5])])
    # theta * (1 - 0.1 * 0.1), then - 0.1 * g / (|g| + eps) ~ -0.1
    expected = np.array([1.0, -2.0]) * 0.99 - 0.1 * 0.5 / (0.5 + 1e-8)
    after = params_after(opt, 1)[0]
    assert_close(after, expected, rtol=RTOL, atol=ATOL, name="the parameter after one step")
