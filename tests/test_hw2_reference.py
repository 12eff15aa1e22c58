"""Homework 2's reference solution, taken from the master notebook, against independent oracles;
and the premises its public and hidden tests rest on (hand-computed values, the lecture's example,
distances from the ReLU's kink, logits large enough to overflow).

The functions are the notebook's graded cells (those not tagged `skip-grading`), executed as the
grader would. Oracles: PyTorch (matmul, relu, cross_entropy, autograd, torch.optim.SGD) and central
differences.
"""

from __future__ import annotations

import importlib.util
import inspect
import types
from pathlib import Path

import numpy as np
import pytest

from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.stubgen import BEGIN

HW = get_homework("hw2")
GRADED = HW.functions
PROVIDED = ("matmul", "softmax_loss", "loss_err", "train_nn")
# The signatures the issue fixes (external tools call these functions).
SIGNATURES = {
    "linear": "(X, W, b)",
    "relu": "(Z)",
    "two_layer_forward": "(X, W1, W2)",
    "two_layer_grads": "(X, y, W1, W2)",
    "nn_epoch": "(X, y, W1, W2, lr=0.1, batch=100)",
    "train_nn": "(X_tr, y_tr, X_te, y_te, hidden_dim=500, epochs=10, lr=0.5, batch=100)",
}

# float64 on both sides: any two correct computations agree to ~1e-13 relative on these sizes.
TOL64 = {"rtol": 1e-10, "atol": 1e-12}
# float32 against float64: products of inner size <= 30 on O(1) values err by ~1e-6 relative.
TOL32 = {"rtol": 1e-4, "atol": 1e-5}


def graded_sources() -> list[str]:
    return [c.source for c in graded_cells(HW.master).cells]


def exec_cells(sources: list[str]) -> types.SimpleNamespace:
    namespace: dict[str, object] = {}
    for i, source in enumerate(sources):
        # The notebook is ours (trusted); running its cells is the point of these tests.
        exec(compile(source, f"<hw2 graded cell {i}>", "exec"), namespace)  # noqa: S102
    return types.SimpleNamespace(**namespace)


def load_module(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ref() -> types.SimpleNamespace:
    return exec_cells(graded_sources())


@pytest.fixture(scope="module")
def hidden() -> types.ModuleType:
    pytest.importorskip("torch")
    (path,) = HW.hidden_tests
    return load_module(path, "hw2_hidden_tests")


@pytest.fixture(scope="module")
def public() -> types.ModuleType:
    return load_module(HW.public_tests, "hw2_public_tests")


def random_problem(dtype: type, seed: int = 0, B: int = 7, n: int = 6, d: int = 5, k: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, n)).astype(dtype)
    y = rng.integers(0, k, size=B).astype(np.uint8)
    W1 = (rng.standard_normal((n, d)) / np.sqrt(d)).astype(dtype)
    W2 = (rng.standard_normal((d, k)) / np.sqrt(k)).astype(dtype)
    return X, y, W1, W2


def torch_grads(X, y, W1, W2):
    import torch
    import torch.nn.functional as F

    w1 = torch.tensor(W1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(W2, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(X, dtype=torch.float64)
    F.cross_entropy(torch.relu(x @ w1) @ w2, torch.tensor(y, dtype=torch.int64)).backward()
    assert w1.grad is not None and w2.grad is not None
    return w1.grad.numpy(), w2.grad.numpy()


# --- the notebook as a contract ---------------------------------------------------------------


def test_signatures_are_the_fixed_ones(ref: types.SimpleNamespace) -> None:
    for name, signature in SIGNATURES.items():
        assert str(inspect.signature(getattr(ref, name))) == signature, name


def test_solution_regions_sit_inside_the_graded_functions() -> None:
    sources = graded_sources()
    for name in GRADED:
        (source,) = [s for s in sources if f"def {name}(" in s]
        begins = [m for m in map(BEGIN.match, source.splitlines()) if m]
        assert len(begins) == 1, f"{name}: expected one solution region"
        assert begins[0].group(1), f"{name}: the solution markers must be indented (in the body)"
    for name in PROVIDED:
        (source,) = [s for s in sources if f"def {name}(" in s]
        assert "BEGIN SOLUTION" not in source, name


# --- the public tests' hand computations, checked by torch -------------------------------------


@pytest.mark.torch
def test_lecture_example_for_linear(ref: types.SimpleNamespace) -> None:
    import torch
    import torch.nn.functional as F

    X = np.array([[1, 2, 1], [3, 4, 0]], dtype=np.float64)
    W = np.array([[2, 2, 0, 3], [0, 1, 1, 5], [1, 4, 2, 0]], dtype=np.float64)
    b = np.array([[5, -5, 0, 1]], dtype=np.float64)
    stated = np.array([[8, 3, 4, 14], [11, 5, 4, 30]], dtype=np.float64)  # the numbers
    # torch.nn.functional.linear stores weights (out, in): W.T, and b as a vector.
    by_torch = F.linear(torch.from_numpy(X), torch.from_numpy(W.T), torch.from_numpy(b[0]))
    np.testing.assert_array_equal(by_torch.numpy(), stated)  # small integers: exact
    np.testing.assert_array_equal(ref.linear(X, W, b), stated)


@pytest.mark.torch
def test_public_hand_computed_values(public: types.ModuleType) -> None:
    import torch

    dW1, dW2 = torch_grads(public.X_HAND, public.Y_HAND, public.W1_HAND, public.W2_HAND)
    np.testing.assert_allclose(dW1, public.DW1_HAND, **TOL64)
    np.testing.assert_allclose(dW2, public.DW2_HAND, **TOL64)
    X = torch.tensor([[1.0, -1.0], [2.0, 3.0]], dtype=torch.float64)
    W1 = torch.tensor([[1.0, -1.0, 2.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    W2 = torch.tensor([[1.0, 0.0], [5.0, 5.0], [1.0, -1.0]], dtype=torch.float64)
    np.testing.assert_array_equal((torch.relu(X @ W1) @ W2).numpy(), [[2.0, -2.0], [14.0, 1.0]])


# --- the reference against torch and central differences --------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_matches_torch(ref: types.SimpleNamespace, dtype: type) -> None:
    import torch

    tol = TOL32 if dtype == np.float32 else TOL64
    for seed, (B, n, d, k) in enumerate([(1, 3, 4, 2), (7, 6, 5, 4), (30, 12, 20, 10)]):
        X, y, W1, W2 = random_problem(dtype, seed, B, n, d, k)
        b = np.random.default_rng(seed).standard_normal((1, d)).astype(dtype)
        x, w1, w2 = (torch.tensor(a, dtype=torch.float64) for a in (X, W1, W2))
        np.testing.assert_allclose(ref.linear(X, W1, b), (x @ w1 + torch.tensor(b)).numpy(), **tol)
        np.testing.assert_array_equal(ref.relu(X), torch.relu(torch.from_numpy(X)).numpy())
        assert ref.relu(X).dtype == dtype
        np.testing.assert_allclose(
            ref.two_layer_forward(X, W1, W2), (torch.relu(x @ w1) @ w2).numpy(), **tol
        )
        dW1, dW2 = ref.two_layer_grads(X, y, W1, W2)
        assert dW1.shape == W1.shape and dW2.shape == W2.shape and dW1.dtype == dtype
        expected = torch_grads(X, y, W1, W2)
        np.testing.assert_allclose(dW1, expected[0], **tol)
        np.testing.assert_allclose(dW2, expected[1], **tol)


def test_reference_grads_match_central_differences(ref: types.SimpleNamespace) -> None:
    X, y, W1, W2 = random_problem(np.float64, seed=3)
    dW1, dW2 = ref.two_layer_grads(X, y, W1, W2)
    eps = 1e-6
    for W, dW in ((W1, dW1), (W2, dW2)):
        numeric = np.zeros_like(W)
        for idx in np.ndindex(*W.shape):
            old = W[idx]
            W[idx] = old + eps
            plus = ref.softmax_loss(ref.two_layer_forward(X, W1, W2), y)
            W[idx] = old - eps
            minus = ref.softmax_loss(ref.two_layer_forward(X, W1, W2), y)
            W[idx] = old
            numeric[idx] = (plus - minus) / (2 * eps)
        # Central differences err by O(eps^2) ~ 1e-12 plus rounding ~ 1e-16 / eps ~ 1e-10.
        np.testing.assert_allclose(dW, numeric, atol=1e-8)
    # A step moves a pre-activation by at most eps * max|x|: this seed stays 100x farther away.
    assert np.abs(X @ W1).min() > 100 * eps * np.abs(X).max()


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_epoch_matches_torch_sgd(ref: types.SimpleNamespace, dtype: type) -> None:
    import torch
    import torch.nn.functional as F

    X, y, W1, W2 = random_problem(dtype, seed=4, B=23)  # 23 = 5 + 5 + 5 + 5 + 3
    w1, w2 = (torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in (W1, W2))
    optimizer = torch.optim.SGD([w1, w2], lr=0.3)
    for start in range(0, 23, 5):
        optimizer.zero_grad()
        xb = torch.tensor(X[start : start + 5], dtype=torch.float64)
        yb = torch.tensor(y[start : start + 5], dtype=torch.int64)
        F.cross_entropy(torch.relu(xb @ w1) @ w2, yb).backward()
        optimizer.step()
    same = W1, W2
    assert ref.nn_epoch(X, y, W1, W2, lr=0.3, batch=5) is None
    assert W1 is same[0] and W2 is same[1] and W1.dtype == W2.dtype == dtype  # in place
    # Five steps compound the per-step rounding; 10x the one-step tolerance is ample.
    tol = {key: 10 * value for key, value in (TOL32 if dtype == np.float32 else TOL64).items()}
    np.testing.assert_allclose(W1, w1.detach().numpy(), **tol)
    np.testing.assert_allclose(W2, w2.detach().numpy(), **tol)


def test_train_nn_reports_every_epoch(ref: types.SimpleNamespace, capsys) -> None:
    X, y, _, _ = random_problem(np.float32, seed=5, B=60, n=8, k=3)
    W1, W2, history = ref.train_nn(X, y, X, y, hidden_dim=16, epochs=3, lr=0.2, batch=10)
    assert W1.shape == (8, 16) and W2.shape == (16, 3) and W1.dtype == np.float32
    assert history["epoch"] == [1, 2, 3]
    assert all(len(v) == 3 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]  # it trains
    assert capsys.readouterr().out.count("\n") == 2 + 3  # header, rule, one row per epoch
    again = ref.train_nn(X, y, X, y, hidden_dim=16, epochs=3, lr=0.2, batch=10)
    np.testing.assert_array_equal(again[0], W1)  # seeded: runs repeat


# --- the premises of the hidden tests ---------------------------------------------------------


def min_preactivation_along_sgd(X, y, W1, W2, lr: float, batch: int) -> float:
    """The smallest |X_b @ W1| met by one epoch of SGD (float64), at the weights where each
    minibatch's gradient is taken: how far the run stays from the ReLU's kink."""
    X, W1, W2 = (np.array(a, dtype=np.float64) for a in (X, W1, W2))
    smallest = np.inf
    for start in range(0, len(X), batch):
        Xb = X[start : start + batch]
        smallest = min(smallest, float(np.abs(Xb @ W1).min()))
        Z1 = Xb @ W1
        Z2 = np.maximum(Z1, 0) @ W2
        S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        S /= S.sum(axis=1, keepdims=True)
        S[np.arange(len(Xb)), y[start : start + batch]] -= 1
        G2 = S / len(Xb)
        W1 -= lr * Xb.T @ ((G2 @ W2.T) * (Z1 > 0))
        W2 -= lr * np.maximum(Z1, 0).T @ G2
    return smallest


@pytest.mark.torch
def test_hidden_float32_problems_stay_away_from_the_kink(hidden: types.ModuleType) -> None:
    """float32 rounding moves a pre-activation by ~1e-6 (inner size <= 30, O(1) terms). Where a
    float32 test's run comes within 1e-3 of 0, a correct float32 solution could flip a ReLU mask
    and differ from the float64 oracle by far more than the tolerance."""
    X, y, W1, W2 = hidden.problem(36, batch=40, n=30, hidden=20, k=10, dtype=np.float32)
    assert np.abs(X.astype(np.float64) @ W1).min() > 1e-3  # test_grads_float32
    X, y, W1, W2 = hidden.problem(44, batch=64, dtype=np.float32)
    assert min_preactivation_along_sgd(X, y, W1, W2, 0.2, 16) > 1e-3  # test_epoch_float32
    X, y, W1, W2 = hidden.problem(45, batch=30, dtype=np.float32)
    assert min_preactivation_along_sgd(X, y, W1, W2, 0.5, 10) > 1e-3  # test_epoch_updates_in_place


@pytest.mark.torch
def test_hidden_numeric_gradient_problem_stays_away_from_the_kink(hidden) -> None:
    """Central differences with eps = 1e-6 move a pre-activation by at most eps * max|x|."""
    X, _, W1, _ = hidden.problem(33, batch=6, n=4, hidden=5, k=3)
    assert np.abs(X @ W1).min() > 1e3 * 1e-6 * np.abs(X).max()


@pytest.mark.torch
def test_hidden_relu_at_zero_problem_has_exact_zeros(hidden, ref) -> None:
    """test_grads_relu_derivative_at_zero's data: many pre-activations exactly 0, and a mask
    taken as Z1 >= 0 would change dW1 by far more than the tolerance."""
    r = hidden.rng(34)  # the test's own construction, repeated
    X = r.integers(-2, 3, size=(12, 5)).astype(np.float64)
    y = r.integers(0, 4, size=12).astype(np.uint8)
    W1 = r.integers(-1, 2, size=(5, 6)).astype(np.float64)
    W1[:, 0] = 0.0
    W2 = r.standard_normal((6, 4))
    Z1 = X @ W1
    assert (Z1[:, 0] == 0).all() and (Z1[:, 1:] == 0).sum() >= 5  # the dead unit, and others
    B = len(X)
    Z2 = np.maximum(Z1, 0) @ W2
    S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    S[np.arange(B), y] -= 1
    wrong = X.T @ ((S / B @ W2.T) * (Z1 >= 0))
    right = ref.two_layer_grads(X, y, W1, W2)[0]
    # Both kinds of zero matter on their own: the dead unit's column, and the other columns.
    assert np.abs(wrong - right)[:, 0].max() > 1e-2
    assert np.abs(wrong - right)[:, 1:].max() > 1e-2


@pytest.mark.torch
def test_hidden_large_logits_overflow_without_the_shift(hidden) -> None:
    X, _, W1, W2 = hidden.problem(37, batch=20, n=10, hidden=8, k=6)
    Z2 = np.maximum(X @ W1, 0) @ (1000.0 * W2)
    assert Z2.max() > 710  # exp(710) overflows float64 (max ~ exp(709.78))


@pytest.mark.torch
def test_hidden_epoch_oracle_is_torch_sgd_and_leaves_its_inputs(hidden, ref) -> None:
    """The trajectory oracle must not share memory with the grader's arrays (torch.from_numpy
    would let the optimizer rewrite them), and must agree with the reference."""
    X, y, W1, W2 = hidden.problem(46, batch=95, n=8, hidden=12, k=4)
    copies = W1.copy(), W2.copy()
    after = hidden.torch_sgd_epochs(X, y, W1, W2, 0.4, 20, 2)
    np.testing.assert_array_equal(W1, copies[0])
    np.testing.assert_array_equal(W2, copies[1])
    for epoch in range(2):
        ref.nn_epoch(X, y, W1, W2, lr=0.4, batch=20)
        np.testing.assert_allclose(W1, after[2 * epoch], **TOL64)
        np.testing.assert_allclose(W2, after[2 * epoch + 1], **TOL64)
