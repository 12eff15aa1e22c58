# Public tests for hw2_mlp: generated from the course's master copy by `make assignments`.
# Check your notebook with:  python selfcheck.py hw2_mlp.ipynb
# (or, where the course package is installed:  autograder check hw2 hw2_mlp.ipynb)
"""Public tests for homework 2 (a two-layer network): run them on your notebook before submitting.

`sub` is your notebook's functions, run in a separate process by the grader: arrays go in and come
back as copies, so these tests look at return values (and, for nn_epoch, at the arrays as your
function left them). Every expected value below is computed by hand in the comments. The hidden
tests check much more (random shapes, batches of one, float32, PyTorch as oracle, numerical
gradients, inputs where the ReLU sits exactly at 0, whole epochs of SGD).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlhw.autograder.checks import assert_close

# Your functions may sum in another order than ours: a relative tolerance of 1e-5 accepts that
# (and float32 arithmetic), while any real mistake (a wrong mask, a missing 1/B, a transpose) is
# off by far more. These inputs are float64, and so are most of the hidden tests': compute those
# in float64 (no cast to float32), as they compare to about 1e-7.
RTOL = 1e-5
ATOL = 1e-6

# The hand-computed two-layer example shared by the gradient and epoch tests (one example, B = 1):
#   X = [[1, 2]], y = [0], W1 = [[1, 0], [0, -1]], W2 = [[0, log 3], [5, 7]].
#   Z1 = X W1 = [[1, -2]]            -> A1 = relu(Z1) = [[1, 0]]; the ReLU's mask is [[1, 0]].
#   Z2 = A1 W2 = [[0, log 3]]        -> softmax = [1/4, 3/4] (e^0 : e^log3 = 1 : 3).
#   G2 = (softmax - e_y) / B         = [[-3/4, 3/4]]
#   dW2 = A1^T G2                    = [[-3/4, 3/4], [0, 0]]
#   G2 W2^T = [[3/4 log 3, -15/4 + 21/4]] = [[3/4 log 3, 3/2]]; times the mask: [[3/4 log 3, 0]]
#   dW1 = X^T (that)                 = [[3/4 log 3, 0], [3/2 log 3, 0]]
# The second hidden unit is off (Z1 = -2 < 0), so no gradient reaches its weights, although the
# gradient arriving at its output (3/2) is not zero.
LOG3 = np.log(3.0)
X_HAND = np.array([[1.0, 2.0]])
Y_HAND = np.array([0], dtype=np.uint8)
W1_HAND = np.array([[1.0, 0.0], [0.0, -1.0]])
W2_HAND = np.array([[0.0, LOG3], [5.0, 7.0]])
DW1_HAND = np.array([[0.75 * LOG3, 0.0], [1.5 * LOG3, 0.0]])
DW2_HAND = np.array([[-0.75, 0.75], [0.0, 0.0]])


def pair(result, name: str) -> tuple[np.ndarray, np.ndarray]:
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{name} should return the pair (dW1, dW2), but returned {type(result).__name__}"
    )
    return np.asarray(result[0]), np.asarray(result[1])


@pytest.mark.points(1)
def test_linear_lecture_example(sub):
    """public: linear on the lecture's example"""
    # Row 1: (1, 2, 1) W = (1*2+2*0+1*1, 1*2+2*1+1*4, 1*0+2*1+1*2, 1*3+2*5+1*0) = (3, 8, 4, 13).
    # Row 2: (3, 4, 0) W = (6, 6+4, 4, 9+20) = (6, 10, 4, 29). Adding b = (5, -5, 0, 1) to each row:
    X = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 0.0]])
    W = np.array([[2.0, 2.0, 0.0, 3.0], [0.0, 1.0, 1.0, 5.0], [1.0, 4.0, 2.0, 0.0]])
    b = np.array([[5.0, -5.0, 0.0, 1.0]])
    expected = np.array([[8.0, 3.0, 4.0, 14.0], [11.0, 5.0, 4.0, 30.0]])
    out = np.asarray(sub.linear(X, W, b))
    assert out.shape == (2, 4), f"linear returned shape {out.shape}, expected (B, d) = (2, 4)"
    assert_close(out, expected, rtol=RTOL, atol=ATOL, name="linear's output")


@pytest.mark.points(1)
def test_relu_hand_values(sub):
    """public: relu keeps positives, zeroes negatives and zeros"""
    Z = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.0]])
    expected = np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 0.0]])
    out = np.asarray(sub.relu(Z))
    assert out.shape == Z.shape, f"relu returned shape {out.shape}, expected {Z.shape}"
    assert_close(out, expected, rtol=RTOL, atol=ATOL, name="relu's output")


@pytest.mark.points(1)
def test_two_layer_forward_hand_computed(sub):
    """public: two_layer_forward on a hand-computed example"""
    # Row 1: X W1 = (1-1, -1-1, 2+0) = (0, -2, 2) -> relu (0, 0, 2) -> times W2: (0+0+2, 0+0-2).
    # Row 2: X W1 = (2+3, -2+3, 4) = (5, 1, 4) -> relu (5, 1, 4) -> (5+5+4, 0+5-4) = (14, 1).
    X = np.array([[1.0, -1.0], [2.0, 3.0]])
    W1 = np.array([[1.0, -1.0, 2.0], [1.0, 1.0, 0.0]])
    W2 = np.array([[1.0, 0.0], [5.0, 5.0], [1.0, -1.0]])
    expected = np.array([[2.0, -2.0], [14.0, 1.0]])
    out = np.asarray(sub.two_layer_forward(X, W1, W2))
    assert out.shape == (2, 2), f"two_layer_forward returned shape {out.shape}, expected (2, 2)"
    assert_close(out, expected, rtol=RTOL, atol=ATOL, name="the logits")


@pytest.mark.points(2)
def test_two_layer_grads_hand_computed(sub):
    """public: two_layer_grads on a hand-computed example"""
    # See the derivation at the top of this file.
    dW1, dW2 = pair(sub.two_layer_grads(X_HAND, Y_HAND, W1_HAND, W2_HAND), "two_layer_grads")
    assert dW1.shape == (2, 2) and dW2.shape == (2, 2), (
        f"gradient shapes {dW1.shape} and {dW2.shape}: each must have its weight's shape (2, 2)"
    )
    assert_close(dW2, DW2_HAND, rtol=RTOL, atol=ATOL, name="dW2")
    assert_close(dW1, DW1_HAND, rtol=RTOL, atol=ATOL, name="dW1")


@pytest.mark.points(1)
def test_nn_epoch_one_step_in_place(sub):
    """public: nn_epoch on one example is one SGD step, in place"""
    # One example and batch=100: a single minibatch, so one step W <- W - lr * dW with the
    # hand-computed gradients above, applied to W1 and W2 in place; the epoch returns None.
    W1, W2 = W1_HAND.copy(), W2_HAND.copy()
    call = sub.nn_epoch.with_args(X_HAND, Y_HAND, W1, W2, lr=0.5, batch=100)
    assert call.value is None, (
        f"nn_epoch returned a {type(call.value).__name__}: it should update W1 and W2 in place "
        "(W1 -= ...) and return None"
    )
    W1_after, W2_after = np.asarray(call.args[2]), np.asarray(call.args[3])
    assert_close(
        W1_after, W1_HAND - 0.5 * DW1_HAND, rtol=RTOL, atol=ATOL, name="W1 after the epoch"
    )
    assert_close(
        W2_after, W2_HAND - 0.5 * DW2_HAND, rtol=RTOL, atol=ATOL, name="W2 after the epoch"
    )
