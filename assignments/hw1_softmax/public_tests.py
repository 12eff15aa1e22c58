# Public tests for hw1_softmax: generated from the course's master copy by `make assignments`.
# Check your notebook with:  python selfcheck.py hw1_softmax.ipynb
# (or, where the course package is installed:  autograder check hw1 hw1_softmax.ipynb)
"""Public tests for homework 1 (softmax regression): run them on your notebook before submitting.

`sub` is your notebook's functions, run in a separate process by the grader: arrays go in and come
back as copies, so these tests look only at return values. The hidden tests check much more
(random inputs, float32 and float64, PyTorch as oracle, numerical gradients, the SGD update).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlhw.autograder.checks import as_array, as_scalar, assert_close

# Your functions may sum in another order than ours: a relative tolerance of 1e-5 accepts that
# (and float32 arithmetic), while any real mistake (a missing max-shift, a wrong sign, a sum
# instead of a mean) is off by far more. These inputs are float64, and so are most of the hidden
# tests': compute those in float64 (no cast to float32), as they compare to about 1e-7.
RTOL = 1e-5
ATOL = 1e-6
# (checks.assert_close, not np.testing's: it checks the shape before converting anything, so an
# answer of the wrong size costs the grader nothing, and says what differs.)


@pytest.mark.points(1)
def test_softmax_loss_uniform_logits(sub):
    """public: softmax_loss of equal logits is log(k)"""
    # Equal logits give every one of the k = 10 classes probability 1/10, whatever the label,
    # so each example's loss is -log(1/10) = log(10), and so is the mean.
    Z = np.zeros((4, 10))
    y = np.array([0, 3, 7, 9])
    loss = as_scalar(sub.softmax_loss(Z, y), "the loss")
    assert_close(loss, np.log(10), rtol=RTOL, atol=ATOL, name="the loss")


@pytest.mark.points(1)
def test_softmax_loss_hand_computed(sub):
    """public: softmax_loss on a hand-computed example"""
    # Row 0: logits (0, log 3) -> probabilities (1/4, 3/4); label 0 -> loss log 4.
    # Row 1: logits (log 3, 0) -> probabilities (3/4, 1/4); label 0 -> loss log(4/3).
    # Mean: (log 4 + log 4 - log 3) / 2 = log 4 - log(3) / 2.
    Z = np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]])
    y = np.array([0, 0])
    expected = np.log(4.0) - np.log(3.0) / 2
    loss = as_scalar(sub.softmax_loss(Z, y), "the loss")
    assert_close(loss, expected, rtol=RTOL, atol=ATOL, name="the loss")


@pytest.mark.points(1)
def test_softmax_loss_large_logits_are_finite(sub):
    """public: softmax_loss of logits near 1000 is finite"""
    # exp(1000) overflows even in float64. With the max subtracted, the logits become (0, 0, -1000):
    # two classes tie, so the loss of label 0 is log 2 (plus exp(-1000), far below any tolerance).
    Z = np.array([[1000.0, 1000.0, 0.0]])
    y = np.array([0])
    loss = as_scalar(sub.softmax_loss(Z, y), "the loss")
    assert not loss < 0, (  # -inf too, which no overflow gives
        f"loss is {loss}, but a cross-entropy is never negative (each term is -log of a "
        "probability): check the sign, and that each row's maximum and sum of exps are taken "
        "along the row (axis=1: a row is one example)"
    )
    assert np.isfinite(loss), (
        f"loss is {loss}: exp() of logits near 1000 overflows, or a probability underflows to 0 "
        "before its log; subtract each row's own maximum (Z.max(axis=1, keepdims=True)) from its "
        "logits and take the log of the sum of exps (log-sum-exp), not of a softmax ratio"
    )
    assert_close(loss, np.log(2.0), rtol=RTOL, atol=ATOL, name="the loss")


@pytest.mark.points(1)
def test_softmax_regression_grad_shape_and_value(sub):
    """public: softmax_regression_grad on a hand-computed example"""
    # theta = 0 gives all logits 0, so softmax is uniform: 1/4 for each of k = 4 classes.
    # Example 1, x = (1, 2, 3), label 1: softmax - e_y = (1/4, -3/4, 1/4, 1/4).
    # Example 2, x = (0, 1, 0), label 3: softmax - e_y = (1/4, 1/4, 1/4, -3/4).
    # The gradient X^T (S - I_y) / B is the mean of the outer products x (softmax - e_y)^T.
    X = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    y = np.array([1, 3])
    theta = np.zeros((3, 4))
    grad = as_array(sub.softmax_regression_grad(X, y, theta), "the gradient")
    assert grad.shape == (3, 4), f"gradient shape {grad.shape}, expected theta's shape (3, 4)"
    expected = (
        np.outer([1.0, 2.0, 3.0], [0.25, -0.75, 0.25, 0.25])
        + np.outer([0.0, 1.0, 0.0], [0.25, 0.25, 0.25, -0.75])
    ) / 2
    assert_close(grad, expected, rtol=RTOL, atol=ATOL, name="the gradient")


@pytest.mark.points(1)
def test_softmax_regression_epoch_returns_none(sub):
    """public: softmax_regression_epoch changes theta and returns None"""
    # The exact update is checked by the hidden tests; here an epoch with a last, smaller
    # minibatch (5 = 2 + 2 + 1) must run, change theta (from zeros, the first step alone moves
    # it: the gradient (softmax - one_hot) / B is not zero) and return None.
    X = np.arange(15, dtype=np.float64).reshape(5, 3) / 15
    y = np.array([0, 1, 2, 1, 0])
    theta = np.zeros((3, 3))
    call = sub.softmax_regression_epoch.with_args(X, y, theta, lr=0.1, batch=2)
    assert call.value is None, (
        f"softmax_regression_epoch returned a {type(call.value).__name__}: it should update theta "
        "in place (theta -= ...) and return None"
    )
    after = np.asarray(call.args[2])
    assert after.shape == (3, 3) and not np.allclose(after, 0.0), (
        "theta is unchanged after the epoch: update it in place (theta -= lr * grad), "
        "not a new array (theta = theta - ... only rebinds a name inside your function)"
    )
