"""Hidden tests of homework 2 (a two-layer network). Never shipped to students.

Oracles: PyTorch in float64 (matmul, relu, cross_entropy, autograd, torch.optim.SGD) and central
differences of torch's loss. The oracles are recorded (`autograder record-oracles hw2`, stored in
recorded_oracles.npz beside this file), so a grading run never imports torch; CI recomputes
them with live torch (tests/test_oracles.py). Every expectation is computed from the grader's own inputs (seeds and
constants), never from anything the student's code returned: the epoch tests compare with SGD
trajectories that torch computes from the same starting weights, not with steps taken with the
student's own gradient. `sub` is the student's code behind the trust boundary.

Weights are (fan-in, fan-out), the course's convention: a layer is X @ W.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlhw.autograder.checks import assert_close, numeric_grad
from dlhw.autograder.oracles import lazy_import, oracle

torch = lazy_import("torch")  # imported only when an oracle is computed live
F = lazy_import("torch.nn.functional")

pytestmark = [pytest.mark.visibility("visible")]

# Tolerances. In float64 every correct formulation (loops, one-hot matrices, log-softmax, another
# summation order) agrees with torch to ~1e-13 relative on these small problems; rtol 1e-7 leaves
# room for such variety, while the bugs these tests exist for (a missing 1/B, a mask in the wrong
# place, a transpose, a dropped batch) give errors of order 1. The atol covers entries that are
# zero or nearly so (sums that cancel). float32 tolerances are given at each float32 test.
# Float64 inputs cast to float32 inside come out ~1e-7 to 1e-5 off: the notebook asks for float64
# arithmetic on float64 inputs (its grading notes, two_layer_grads' docstring, the public tests).
# A float64 result cast to float32 only at the end is merely rounded (<= 6e-8 relative), which
# RTOL64 cannot see: "float64 inputs must give float64 results" is checked as the dtype (F64).
RTOL64, ATOL64 = 1e-7, 1e-10
F64 = np.float64


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def weights(r: np.random.Generator, n: int, hidden: int, k: int, dtype: type = np.float64):
    """Weights as train_nn draws them: standard normal over sqrt(fan-out)."""
    W1 = (r.standard_normal((n, hidden)) / np.sqrt(hidden)).astype(dtype)
    W2 = (r.standard_normal((hidden, k)) / np.sqrt(k)).astype(dtype)
    return W1, W2


def problem(seed: int, batch: int, n: int = 12, hidden: int = 9, k: int = 5, dtype=np.float64):
    """(X, y, W1, W2): standard normal inputs, uint8 labels (as parse_mnist gives them)."""
    r = rng(seed)
    X = r.standard_normal((batch, n)).astype(dtype)
    y = r.integers(0, k, size=batch).astype(np.uint8)
    W1, W2 = weights(r, n, hidden, k, dtype)
    return X, y, W1, W2


# ---- oracles (module-level functions of the grader's inputs only) ----------------------------


def t64(a: np.ndarray) -> torch.Tensor:
    """A float64 copy (never a view: the optimizer updates its tensors in place)."""
    return torch.from_numpy(np.array(a, dtype=np.float64, copy=True))


@oracle
def torch_linear(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (t64(X) @ t64(W) + t64(b)).numpy()


@oracle
def torch_relu(Z: np.ndarray) -> np.ndarray:
    return torch.relu(t64(Z)).numpy()


@oracle
def torch_forward(X: np.ndarray, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    return (torch.relu(t64(X) @ t64(W1)) @ t64(W2)).numpy()


def torch_mean_loss(X: torch.Tensor, y: np.ndarray, W1: torch.Tensor, W2: torch.Tensor):
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    return F.cross_entropy(torch.relu(X @ W1) @ W2, labels)


@oracle
def torch_grads(
    X: np.ndarray, y: np.ndarray, W1: np.ndarray, W2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Autograd in float64; torch takes relu's derivative at 0 to be 0, as the notebook does."""
    w1, w2 = t64(W1).requires_grad_(), t64(W2).requires_grad_()
    torch_mean_loss(t64(X), y, w1, w2).backward()
    return w1.grad.numpy(), w2.grad.numpy()


@oracle
def torch_numeric_grads(
    X: np.ndarray, y: np.ndarray, W1: np.ndarray, W2: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of torch's mean loss, in float64 (no autograd involved)."""
    Xt, W1_64, W2_64 = t64(X), np.asarray(W1, np.float64), np.asarray(W2, np.float64)
    dW1 = numeric_grad(lambda w: float(torch_mean_loss(Xt, y, t64(w), t64(W2_64))), W1_64, eps)
    dW2 = numeric_grad(lambda w: float(torch_mean_loss(Xt, y, t64(W1_64), t64(w))), W2_64, eps)
    return dW1, dW2


@oracle
def torch_sgd_epochs(
    X: np.ndarray, y: np.ndarray, W1: np.ndarray, W2: np.ndarray, lr: float, batch: int, epochs: int
) -> tuple[np.ndarray, ...]:
    """W1, W2 after each of `epochs` epochs of torch.optim.SGD, in float64, minibatches in
    order: (W1 after epoch 1, W2 after epoch 1, W1 after epoch 2, ...)."""
    w1, w2 = t64(W1).requires_grad_(), t64(W2).requires_grad_()
    opt = torch.optim.SGD([w1, w2], lr=lr)
    Xt = t64(X)
    after: list[np.ndarray] = []
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch):
            opt.zero_grad()
            stop = start + batch
            torch_mean_loss(Xt[start:stop], y[start:stop], w1, w2).backward()
            opt.step()
        after += [w1.detach().numpy().copy(), w2.detach().numpy().copy()]
    return tuple(after)


# ---- checks ----------------------------------------------------------------------------------


def as_pair(result, name: str) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        if result is None:
            got = "None (did the function forget to `return`?)"
        elif isinstance(result, (tuple, list)):
            got = f"a {type(result).__name__} of {len(result)} items"
        else:
            got = f"a {type(result).__name__}"
        raise AssertionError(f"{name} should return the pair (dW1, dW2), but returned {got}")
    return result[0], result[1]


def check_grads(sub, X, y, W1, W2, expected, *, rtol: float, atol: float, note: str = "") -> None:
    dW1, dW2 = as_pair(sub.two_layer_grads(X, y, W1, W2), "two_layer_grads")
    shapes = f" (X {X.shape}, W1 {W1.shape}, W2 {W2.shape})"
    dtype = F64 if X.dtype == W1.dtype == W2.dtype == F64 else None  # float32 inputs: either
    for name, got, want in (("dW2", dW2, expected[1]), ("dW1", dW1, expected[0])):
        assert_close(got, want, rtol=rtol, atol=atol, name=name + shapes, dtype=dtype, note=note)


def shapes_of(*arrays: np.ndarray) -> str:
    return ", ".join(str(a.shape) for a in arrays)


# Uncentred inputs (every feature about 100, as raw pixel values are) through weights whose
# columns sum to zero: each product is O(1) made of terms of O(100). Float64 keeps it to ~1e-14;
# float64 inputs computed in float32 inside (and cast back, or upcast by a float64 operand) lose
# ~1e-5 relative, while on centred inputs their error, ~1e-7, is what RTOL64 is, and whether a
# test notices depends on one entry or two.
UNCENTRED = (
    "every feature of X is about 100 here and W's columns sum to zero, so each output is a small "
    "difference of large terms: float64 inputs must be computed in float64 (no cast to float32 "
    "inside, not even for one factor), which keeps it to ~15 digits; float32 keeps ~5 of them"
)


def uncentred(r: np.random.Generator, B: int, n: int) -> np.ndarray:
    return 100.0 + r.standard_normal((B, n))


def zero_sum_columns(W: np.ndarray) -> np.ndarray:
    return W - W.mean(axis=0, keepdims=True)


# ---- linear ----------------------------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.tags("linear")
def test_linear_matches_torch(sub):
    """linear: X @ W + b for random, non-square shapes (batch 1 included)"""
    r = rng(1)
    for B, n, d in [(1, 5, 3), (7, 4, 9), (20, 11, 6)]:
        X, W = r.standard_normal((B, n)), r.standard_normal((n, d))
        b = r.standard_normal((1, d))
        assert_close(
            sub.linear(X, W, b), torch_linear(X, W, b), rtol=RTOL64, atol=ATOL64, dtype=F64,
            name=f"linear(X {X.shape}, W {W.shape}, b {b.shape})",
        )  # fmt: skip
    X, W = uncentred(r, 6, 8), zero_sum_columns(r.standard_normal((8, 5)))
    b = r.standard_normal((1, 5))
    assert_close(
        sub.linear(X, W, b), torch_linear(X, W, b), rtol=RTOL64, atol=ATOL64, dtype=F64,
        name="linear(X (6, 8), W (8, 5), b (1, 5)) of uncentred inputs", note=UNCENTRED,
    )  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.tags("linear")
def test_linear_bias_is_added_to_every_row(sub):
    """linear: b is added to every row (batch size equal to the output size)"""
    # B == d: a bias added down the columns (b.T, or b as (d, 1)) gives the right shape here and
    # wrong values; b's entries are far apart so any misplacement shows.
    r = rng(2)
    X, W = r.standard_normal((4, 3)), r.standard_normal((3, 4))
    b = np.array([[10.0, -20.0, 30.0, -40.0]])
    assert_close(
        sub.linear(X, W, b), torch_linear(X, W, b), rtol=RTOL64, atol=ATOL64, dtype=F64,
        name="linear(X (4, 3), W (3, 4), b (1, 4))",
    )  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.tags("linear")
def test_linear_float32(sub):
    """linear: float32 inputs"""
    r = rng(3)
    X = r.standard_normal((16, 30)).astype(np.float32)
    W = r.standard_normal((30, 8)).astype(np.float32)
    b = r.standard_normal((1, 8)).astype(np.float32)
    # float32 dot products of 30 terms of size ~1: error ~30 * 6e-8 * sqrt(30) of entries ~5;
    # rtol 1e-5 with atol 1e-5 (for entries near 0) leaves a wide margin.
    assert_close(sub.linear(X, W, b), torch_linear(X, W, b), rtol=1e-5, atol=1e-5, name="linear")


# ---- relu ------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.tags("relu")
def test_relu_values(sub):
    """relu: positives kept, negatives and zeros give 0"""
    Z = rng(4).standard_normal((6, 7))
    Z[0, :3] = 0.0  # exact zeros stay 0
    Z[1, 0], Z[1, 1] = -1e-300, 1e-300  # tiny numbers on both sides of 0
    # max(z, 0) involves no rounding: any correct formula gives torch's value exactly or within
    # one rounding ((Z + |Z|) / 2 for instance), far below this tolerance.
    assert_close(sub.relu(Z), torch_relu(Z), rtol=1e-12, atol=0, name="relu(Z)")


@pytest.mark.points(1)
@pytest.mark.tags("relu")
def test_relu_any_shape(sub):
    """relu: 1-D, 3-D and float32 arrays keep their shape and dtype"""
    r = rng(5)
    for Z in (r.standard_normal(11), r.standard_normal((2, 3, 4)), r.standard_normal((5, 1))):
        for dtype in (np.float64, np.float32):
            Zd = Z.astype(dtype)
            # Exact, as above (float32 values are exactly representable in float64); the
            # notebook asks for an array of Z's dtype.
            assert_close(
                sub.relu(Zd), torch_relu(Zd), rtol=1e-12, atol=0, dtype=dtype,
                name=f"relu of a {np.dtype(dtype).name} array of shape {Zd.shape}",
            )  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.tags("relu")
def test_relu_leaves_its_input_unchanged(sub):
    """relu: returns a new array and leaves Z unchanged"""
    Z = rng(6).standard_normal((5, 4))
    call = sub.relu.with_args(Z)  # also gives Z as relu left it
    # Exact, as in test_relu_values; Z must not change at all.
    assert_close(call.value, torch_relu(Z), rtol=1e-12, atol=0, name="relu(Z)")
    assert_close(
        call.args[0], Z, rtol=0, atol=0, name="Z after relu(Z)",
        note=(
            "your relu changed Z itself: leave Z as it is and return a new array (Z[:], "
            "Z.view() and Z.reshape(...) are views that share Z's memory, not copies: writing "
            "into them writes into Z; Z.copy() or np.maximum(Z, 0) make a new array)"
        ),
    )  # fmt: skip


# ---- two_layer_forward -----------------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.tags("forward")
def test_forward_matches_torch(sub):
    """two_layer_forward: relu(X @ W1) @ W2 for random, non-square shapes"""
    for seed, (B, n, d, k) in enumerate([(8, 6, 10, 3), (15, 20, 7, 4), (3, 2, 25, 10)]):
        X, _, W1, W2 = problem(10 + seed, batch=B, n=n, hidden=d, k=k)
        assert_close(
            sub.two_layer_forward(X, W1, W2), torch_forward(X, W1, W2), rtol=RTOL64, atol=ATOL64,
            dtype=F64, name=f"the logits for X, W1, W2 of shapes {shapes_of(X, W1, W2)}",
        )  # fmt: skip
    r = rng(13)
    X, W1 = uncentred(r, 7, 9), zero_sum_columns(r.standard_normal((9, 6)))
    W2 = r.standard_normal((6, 4))
    assert_close(
        sub.two_layer_forward(X, W1, W2), torch_forward(X, W1, W2), rtol=RTOL64, atol=ATOL64,
        dtype=F64, name="the logits of uncentred inputs (X (7, 9), W1 (9, 6), W2 (6, 4))",
        note=UNCENTRED,
    )  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.tags("forward")
def test_forward_batch_of_one_and_one_hidden_unit(sub):
    """two_layer_forward: a batch of one, and a single hidden unit"""
    for B, d in [(1, 6), (5, 1)]:
        X, _, W1, W2 = problem(20 + d, batch=B, n=4, hidden=d, k=3)
        assert_close(
            sub.two_layer_forward(X, W1, W2), torch_forward(X, W1, W2), rtol=RTOL64, atol=ATOL64,
            dtype=F64, name=f"the logits for X, W1, W2 of shapes {shapes_of(X, W1, W2)}",
        )  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.tags("forward")
def test_forward_float32(sub):
    """two_layer_forward: float32 inputs"""
    X, _, W1, W2 = problem(22, batch=32, n=50, hidden=40, k=10, dtype=np.float32)
    # Two float32 products of inner size 50 and 40 on O(1) values: relative error ~1e-6 of the
    # largest terms; rtol 1e-4 and atol 1e-5 (logits near 0) leave a wide margin.
    assert_close(
        sub.two_layer_forward(X, W1, W2), torch_forward(X, W1, W2), rtol=1e-4, atol=1e-5,
        name="the logits",
    )  # fmt: skip


# ---- two_layer_grads -------------------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.tags("gradient")
def test_grads_match_autograd(sub):
    """two_layer_grads: match torch autograd (float64, non-square shapes)"""
    for seed, (B, n, d, k) in enumerate([(32, 10, 16, 5), (3, 7, 2, 4), (9, 3, 12, 2)]):
        X, y, W1, W2 = problem(30 + seed, batch=B, n=n, hidden=d, k=k)
        check_grads(sub, X, y, W1, W2, torch_grads(X, y, W1, W2), rtol=RTOL64, atol=ATOL64)


@pytest.mark.points(2)
@pytest.mark.tags("gradient")
def test_grads_match_numeric(sub):
    """two_layer_grads: match central differences of the mean loss"""
    X, y, W1, W2 = problem(33, batch=6, n=4, hidden=5, k=3)
    # Central differences with eps=1e-6: truncation ~eps^2 = 1e-12, round-off ~1e-16/eps =
    # 1e-10. No pre-activation of this problem lies within eps * |x| of the ReLU's kink
    # (tests/test_hw2_reference.py checks it), so the quotients are true derivatives.
    expected = torch_numeric_grads(X, y, W1, W2, eps=1e-6)
    check_grads(sub, X, y, W1, W2, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.points(2)
@pytest.mark.tags("gradient", "relu")
def test_grads_relu_derivative_at_zero(sub):
    """two_layer_grads: no gradient passes where the pre-activation is exactly 0"""
    # Small integers make many entries of X @ W1 exactly 0, and W1's first column is zero (a
    # unit whose weights are all 0, as with zero initialisation): its pre-activation is 0 for
    # every example. The ReLU's derivative at 0 is 0 (the notebook's convention and torch's), so
    # dW1's first column must be 0 and no zero entry may pass gradient. Integer inputs keep the
    # products exact; the softmax is float64 as everywhere else.
    r = rng(34)
    X = r.integers(-2, 3, size=(12, 5)).astype(np.float64)
    y = r.integers(0, 4, size=12).astype(np.uint8)
    W1 = r.integers(-1, 2, size=(5, 6)).astype(np.float64)
    W1[:, 0] = 0.0
    W2 = r.standard_normal((6, 4))
    check_grads(sub, X, y, W1, W2, torch_grads(X, y, W1, W2), rtol=RTOL64, atol=ATOL64)


@pytest.mark.points(1)
@pytest.mark.tags("gradient")
def test_grads_batch_of_one(sub):
    """two_layer_grads: a batch of one example (int64 label)"""
    X, y, W1, W2 = problem(35, batch=1, n=8, hidden=6, k=4)
    y = y.astype(np.int64)
    check_grads(sub, X, y, W1, W2, torch_grads(X, y, W1, W2), rtol=RTOL64, atol=ATOL64)


@pytest.mark.points(1)
@pytest.mark.tags("gradient")
def test_grads_float32(sub):
    """two_layer_grads: float32 inputs"""
    X, y, W1, W2 = problem(36, batch=40, n=30, hidden=20, k=10, dtype=np.float32)
    # float32 products of inner size <= 40 on O(1) values: errors ~1e-6 of the largest entries.
    # No pre-activation lies within 1e-3 of the kink (tests/test_hw2_reference.py), so float32
    # rounding cannot flip a ReLU mask. rtol 1e-4 with atol 1e-6 (gradients are O(0.1)).
    check_grads(sub, X, y, W1, W2, torch_grads(X, y, W1, W2), rtol=1e-4, atol=1e-6)


# Said when the large-logits gradients are off (makemore's chain through log(probs) gave nan
# and, before this note, only "contains nan").
LARGE_LOGITS = (
    "these logits are thousands apart: without the max-shift exp overflows (inf / inf = nan), "
    "and with it most probabilities are exactly 0 (exp underflows), so a formula that divides "
    "by a probability or takes its log gives inf or nan; S - I_y from the shifted "
    "exponentials stays finite"
)


@pytest.mark.points(1)
@pytest.mark.tags("gradient", "stability")
def test_grads_large_logits(sub):
    """two_layer_grads: logits in the thousands stay finite and correct"""
    X, y, W1, W2 = problem(37, batch=20, n=10, hidden=8, k=6)
    W2 = 1000.0 * W2  # logits up to a few thousand: exp() overflows without the max-shift
    # The softmax saturates to near one-hot; dW1 grows with W2 (entries up to ~1e3). float64
    # error stays ~1e-13 relative, so rtol 1e-7 holds; atol 1e-7 covers near-zero entries.
    check_grads(
        sub, X, y, W1, W2, torch_grads(X, y, W1, W2), rtol=RTOL64, atol=1e-7, note=LARGE_LOGITS
    )


# ---- nn_epoch --------------------------------------------------------------------------------


def run_epoch(sub, X, y, W1, W2, **kwargs) -> tuple[np.ndarray, np.ndarray, object]:
    """W1, W2 after the student's epoch, however delivered: in place, or (only when the arrays
    did not change) returned as a pair. Being in place is tested on its own."""
    call = sub.nn_epoch.with_args(X, y, W1, W2, **kwargs)
    W1_after, W2_after = call.args[2], call.args[3]
    value = call.value
    unchanged = np.array_equal(W1_after, W1) and np.array_equal(W2_after, W2)
    if unchanged and isinstance(value, (tuple, list)) and len(value) == 2:
        W1_after, W2_after = value
    return W1_after, W2_after, value


def tolerances(dtype: type) -> tuple[float, float]:
    # float64: see the note at the top. float32: each step errs by ~1e-6 relative (products of
    # inner size <= 43), a few steps compound it; rtol 1e-4, atol 1e-5 (weights are O(0.3)).
    # The float32 problems keep every pre-activation at least 1e-3 from the ReLU's kink along
    # torch's trajectory (tests/test_hw2_reference.py), so rounding cannot flip a mask.
    return (RTOL64, ATOL64) if dtype == np.float64 else (1e-4, 1e-5)


# Said when an epoch's weights are off: the cause may be the gradients the epoch calls.
EPOCH = "nn_epoch takes steps with your two_layer_grads: if its tests fail, fix it first"


def assert_epoch(sub, X, y, W1, W2, sgd: tuple[float, int], **kwargs) -> None:
    """The student's epoch, called with `kwargs`, must give the W1 and W2 of one epoch of
    torch.optim.SGD with (lr, batch) = `sgd` from the same start."""
    W1_after, W2_after, _ = run_epoch(sub, X, y, W1, W2, **kwargs)
    expected_W1, expected_W2 = torch_sgd_epochs(X, y, W1, W2, *sgd, 1)
    rtol, atol = tolerances(W1.dtype.type)
    for name, start, after, expected in (
        ("W1", W1, W1_after, expected_W1),
        ("W2", W2, W2_after, expected_W2),
    ):
        assert_changed(name, start, after)
        assert_close(
            after, expected, rtol=rtol, atol=atol, name=f"{name} after one epoch", note=EPOCH
        )


def assert_changed(name: str, start: np.ndarray, after) -> None:
    """Every epoch test moves both matrices; one left as it was says more than a diff table."""
    if isinstance(after, np.ndarray) and np.array_equal(after, start):
        raise AssertionError(
            f"{name} is unchanged after the epoch: update it in place (`{name} -= lr * d{name}`); "
            f"`{name} = {name} - ...` only rebinds the local name"
        )


@pytest.mark.points(2)
@pytest.mark.tags("epoch")
def test_epoch_even_batches(sub):
    """nn_epoch: minibatch SGD, batches that divide N"""
    X, y, W1, W2 = problem(40, batch=40)
    assert_epoch(sub, X, y, W1, W2, (0.3, 10), lr=0.3, batch=10)


@pytest.mark.points(2)
@pytest.mark.tags("epoch")
def test_epoch_last_partial_batch(sub):
    """nn_epoch: the last, smaller batch is used too"""
    X, y, W1, W2 = problem(41, batch=43)
    assert_epoch(sub, X, y, W1, W2, (0.3, 10), lr=0.3, batch=10)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_batch_of_one(sub):
    """nn_epoch: batch=1"""
    X, y, W1, W2 = problem(42, batch=7, n=5, hidden=4, k=3)
    assert_epoch(sub, X, y, W1, W2, (0.05, 1), lr=0.05, batch=1)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_default_arguments(sub):
    """nn_epoch: defaults lr=0.1, batch=100"""
    X, y, W1, W2 = problem(43, batch=250)  # no lr, no batch: 0.1 and 100 (100 + 100 + 50)
    assert_epoch(sub, X, y, W1, W2, (0.1, 100))


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_float32(sub):
    """nn_epoch: float32 data and weights"""
    X, y, W1, W2 = problem(44, batch=64, dtype=np.float32)
    assert_epoch(sub, X, y, W1, W2, (0.2, 16), lr=0.2, batch=16)


@pytest.mark.points(2)
@pytest.mark.tags("epoch")
def test_epoch_updates_in_place(sub):
    """nn_epoch: updates W1 and W2 in place and returns None"""
    X, y, W1, W2 = problem(45, batch=30, dtype=np.float32)
    call = sub.nn_epoch.with_args(X, y, W1, W2, lr=0.5, batch=10)
    for name, before, after in (("W1", W1, call.args[2]), ("W2", W2, call.args[3])):
        if np.array_equal(after, before):
            raise AssertionError(
                f"{name} was not changed in place: update it with `{name} -= ...` (or "
                f"{name}[:] = ...) instead of creating a new array"
                + (" and returning it" if call.value is not None else "")
            )
        assert after.dtype == np.float32, (
            f"{name} changed dtype to {after.dtype}; it must stay float32"
        )
    assert call.value is None, (
        f"the epoch should return None, but returned {type(call.value).__name__}"
    )
    # Only W1 and W2 may change: the minibatches are views of X, so a gradient that scales its
    # X in place (X /= B) corrupts the training data of every later epoch. Exact: nothing may
    # change. (Each call gets fresh copies, so the tests' later epochs cannot see it.)
    for name, before, left in (("X", X, call.args[0]), ("y", y, call.args[1])):
        assert np.array_equal(left, before), (
            f"the epoch changed {name}, the training data: only W1 and W2 may be updated in "
            "place (did a function write into a minibatch, e.g. `X /= ...` or `X -= ...`?)"
        )
    # Changed in place, but by SGD steps? (Even batches: the partial batch is tested elsewhere.)
    expected_W1, expected_W2 = torch_sgd_epochs(X, y, W1, W2, 0.5, 10, 1)
    rtol, atol = tolerances(np.float32)
    for name, got, want in (("W1", call.args[2], expected_W1), ("W2", call.args[3], expected_W2)):
        assert_close(got, want, rtol=rtol, atol=atol, name=f"{name} after one epoch", note=EPOCH)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_trajectory_like_torch_sgd(sub):
    """nn_epoch: three epochs in a row follow torch.optim.SGD's trajectory"""
    X, y, W1, W2 = problem(46, batch=95, n=8, hidden=12, k=4)
    expected = torch_sgd_epochs(X, y, W1, W2, 0.4, 20, 3)  # from the grader's start only
    for epoch in range(3):
        before = W1, W2
        W1, W2, _ = run_epoch(sub, X, y, W1, W2, lr=0.4, batch=20)
        # float64 throughout; three epochs compound rounding to ~1e-14: RTOL64 holds.
        for name, start, got, want in (
            ("W1", before[0], W1, expected[2 * epoch]),
            ("W2", before[1], W2, expected[2 * epoch + 1]),
        ):
            assert_changed(name, start, got)
            assert_close(
                got, want, rtol=RTOL64, atol=ATOL64, name=f"{name} after epoch {epoch + 1}",
                note=EPOCH,
            )  # fmt: skip
