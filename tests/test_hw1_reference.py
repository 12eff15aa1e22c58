"""The reference solution of homework 1, taken from the master notebook, against independent oracles.

The functions are the notebook's graded cells (those not tagged `skip-grading`), executed as the
grader would. Oracles: PyTorch (cross_entropy and autograd), central differences, hand-derived
values, and dlhw.datasets' IDX reader on the real MNIST test set in ../shared.
"""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlhw.autograder.notebook import graded_cells
from dlhw.datasets import read_idx

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions/hw1_softmax/hw1_softmax.ipynb"
SHARED_MNIST = ROOT.parent / "shared/datasets/mnist"
SKIP_TAG = "skip-grading"
GRADED = ("parse_mnist", "softmax_loss", "softmax_regression_grad", "softmax_regression_epoch")
PROVIDED = ("loss_err", "train_softmax")

SOLUTION = re.compile(r"(?ms)^([ \t]*)# BEGIN SOLUTION[ \t]*\n.*?^[ \t]*# END SOLUTION[ \t]*$")

# Tolerances per dtype. Our numpy code and torch sum in different orders; in float32 (machine
# epsilon 1.2e-7) sums of a few dozen O(1) terms differ by a few 1e-7 relative, hence 1e-5 with
# margin; in float64 the same reasoning gives ~1e-15, hence 1e-10.
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def graded_sources() -> list[str]:
    return [c.source for c in graded_cells(NOTEBOOK).cells]


def exec_cells(sources: list[str]) -> types.SimpleNamespace:
    namespace: dict[str, object] = {}
    for i, source in enumerate(sources):
        # The notebook is ours (trusted); running its cells is the point of these tests.
        exec(compile(source, f"<hw1 graded cell {i}>", "exec"), namespace)  # noqa: S102
    return types.SimpleNamespace(**namespace)


@pytest.fixture(scope="module")
def ref() -> types.SimpleNamespace:
    return exec_cells(graded_sources())


def random_problem(dtype: type, seed: int = 0, batch: int = 7, n: int = 6, k: int = 5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, n)).astype(dtype)
    y = rng.integers(0, k, size=batch).astype(np.uint8)
    theta = (0.5 * rng.standard_normal((n, k))).astype(dtype)
    return X, y, theta


# --- the notebook as a contract ---------------------------------------------------------------


def test_notebook_is_valid_and_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_solution_regions_sit_inside_the_graded_functions() -> None:
    sources = graded_sources()
    for name in GRADED:
        (source,) = [s for s in sources if f"def {name}(" in s]
        regions = SOLUTION.findall(source)
        assert len(regions) == 1, f"{name}: expected one solution region"
        assert regions[0], f"{name}: the solution markers must be indented (inside the body)"
    for name in PROVIDED:
        (source,) = [s for s in sources if f"def {name}(" in s]
        assert "BEGIN SOLUTION" not in source


def test_stub_keeps_signatures_and_raises(ref: types.SimpleNamespace) -> None:
    """What the stub generator makes of the notebook: same functions, bodies that raise."""

    def stubify(source: str) -> str:
        return SOLUTION.sub(
            lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()", source
        )

    stub = exec_cells([stubify(s) for s in graded_sources()])
    X, y, theta = random_problem(np.float64)
    args = {
        "parse_mnist": ("images.gz", "labels.gz"),
        "softmax_loss": (X @ theta, y),
        "softmax_regression_grad": (X, y, theta),
        "softmax_regression_epoch": (X, y, theta),
    }
    for name in GRADED:
        stub_fn, ref_fn = getattr(stub, name), getattr(ref, name)
        assert inspect.signature(stub_fn) == inspect.signature(ref_fn)
        assert stub_fn.__doc__ == ref_fn.__doc__
        with pytest.raises(NotImplementedError):
            stub_fn(*args[name])


# --- softmax_loss -----------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_loss_matches_torch(ref: types.SimpleNamespace, dtype: type) -> None:
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(1)
    for batch, k in [(1, 2), (7, 5), (50, 10)]:
        Z = (5 * rng.standard_normal((batch, k))).astype(dtype)
        y = rng.integers(0, k, size=batch).astype(np.uint8)
        expected = F.cross_entropy(torch.from_numpy(Z), torch.from_numpy(y).long()).item()
        loss = ref.softmax_loss(Z, y)
        assert isinstance(loss, float)
        np.testing.assert_allclose(loss, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_loss_is_shift_invariant_and_finite(ref: types.SimpleNamespace, dtype) -> None:
    Z, y, _ = random_problem(dtype)
    base = ref.softmax_loss(Z, y)
    for shift in (1000.0, -1000.0, 1e4):
        shifted = ref.softmax_loss(Z + dtype(shift), y)
        assert np.isfinite(shifted)
        # Adding `shift` rounds Z to the spacing of floats near |shift| (1e4: ~1e-3 in float32,
        # ~2e-12 in float64); the loss moves by at most about that much.
        atol = 4 * abs(float(np.spacing(dtype(shift)))) + TOL[dtype]["atol"]
        np.testing.assert_allclose(shifted, base, rtol=0, atol=atol)


# --- softmax_regression_grad ------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_matches_torch_autograd(ref: types.SimpleNamespace, dtype: type) -> None:
    import torch
    import torch.nn.functional as F

    for seed in range(3):
        X, y, theta = random_problem(dtype, seed=seed)
        theta_t = torch.from_numpy(theta.copy()).requires_grad_()
        F.cross_entropy(torch.from_numpy(X) @ theta_t, torch.from_numpy(y).long()).backward()
        grad = ref.softmax_regression_grad(X, y, theta)
        assert grad.shape == theta.shape and grad.dtype == dtype
        np.testing.assert_allclose(grad, theta_t.grad.numpy(), **TOL[dtype])


def test_grad_matches_central_differences(ref: types.SimpleNamespace) -> None:
    X, y, theta = random_problem(np.float64, seed=3)
    eps = 1e-6
    numeric = np.zeros_like(theta)
    for idx in np.ndindex(*theta.shape):
        step = np.zeros_like(theta)
        step[idx] = eps
        numeric[idx] = (
            ref.softmax_loss(X @ (theta + step), y) - ref.softmax_loss(X @ (theta - step), y)
        ) / (2 * eps)
    # Central differences err by O(eps^2) ~ 1e-12 plus rounding ~ 1e-16 / eps ~ 1e-10.
    np.testing.assert_allclose(ref.softmax_regression_grad(X, y, theta), numeric, atol=1e-8)


def test_grad_does_not_modify_inputs(ref: types.SimpleNamespace) -> None:
    X, y, theta = random_problem(np.float64)
    copies = X.copy(), y.copy(), theta.copy()
    ref.softmax_regression_grad(X, y, theta)
    for before, after in zip(copies, (X, y, theta), strict=True):
        np.testing.assert_array_equal(before, after)


# --- softmax_regression_epoch -----------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_epoch_matches_torch_sgd(ref: types.SimpleNamespace, dtype: type) -> None:
    import torch
    import torch.nn.functional as F

    X, y, theta = random_problem(dtype, seed=4, batch=23)  # 23 = 5 + 5 + 5 + 5 + 3
    theta_t = torch.from_numpy(theta.copy()).requires_grad_()
    optimizer = torch.optim.SGD([theta_t], lr=0.3)
    for start in range(0, 23, 5):
        optimizer.zero_grad()
        X_b, y_b = torch.from_numpy(X[start : start + 5]), torch.from_numpy(y[start : start + 5])
        F.cross_entropy(X_b @ theta_t, y_b.long()).backward()
        optimizer.step()

    same_object = theta
    assert ref.softmax_regression_epoch(X, y, theta, lr=0.3, batch=5) is None
    assert theta is same_object and theta.dtype == dtype  # updated in place
    # Five steps compound the per-step rounding; 10x the one-step tolerance is ample.
    tol = {key: 10 * value for key, value in TOL[dtype].items()}
    np.testing.assert_allclose(theta, theta_t.detach().numpy(), **tol)


def test_epoch_with_one_batch_is_one_gradient_step(ref: types.SimpleNamespace) -> None:
    X, y, theta = random_problem(np.float64, seed=5)
    expected = theta - 0.1 * ref.softmax_regression_grad(X, y, theta)
    ref.softmax_regression_epoch(X, y, theta, lr=0.1, batch=100)
    np.testing.assert_allclose(theta, expected, rtol=1e-12, atol=1e-14)


# --- parse_mnist on the real MNIST test set ---------------------------------------------------


@pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST test set is not at {SHARED_MNIST}",
)
def test_parse_mnist_on_the_mnist_test_set(ref: types.SimpleNamespace) -> None:
    images = SHARED_MNIST / "t10k-images-idx3-ubyte.gz"
    labels = SHARED_MNIST / "t10k-labels-idx1-ubyte.gz"
    X, y = ref.parse_mnist(str(images), str(labels))
    assert X.shape == (10_000, 784) and X.dtype == np.float32
    assert y.shape == (10_000,) and y.dtype == np.uint8
    assert X.min() == 0.0 and X.max() == 1.0
    # ../shared/datasets/README.md gives the class counts of the test set.
    expected_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(y, minlength=10).tolist() == expected_counts
    # The same pixels as dlhw.datasets' independent IDX reader, divided by 255 (in float32).
    pixels = read_idx(images).reshape(10_000, 784)
    np.testing.assert_array_equal(X, pixels.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, read_idx(labels))

    with pytest.raises(ValueError, match="2051"):
        ref.parse_mnist(str(labels), str(labels))  # a labels file where images are expected
