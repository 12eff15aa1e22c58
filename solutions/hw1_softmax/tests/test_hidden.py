"""Hidden tests of homework 1 (softmax regression). Never shipped to students.

Oracles: PyTorch (cross_entropy, autograd, torch.optim.SGD) in float64, central differences of
torch's loss, and IDX files generated here from known pixels. `sub` is the student's code behind
the trust boundary; nothing it returns is ever the expectation of a check.

The torch oracles are recorded (`autograder record-oracles hw1`, stored in recorded_oracles.npz
beside this file): their inputs are fixed by seeds, so a grading run looks their values up and
never imports torch. CI recomputes them with live torch (tests/test_oracles.py).
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from dlhw.autograder.checks import as_array, as_scalar, assert_close, assert_raises, numeric_grad
from dlhw.autograder.oracles import lazy_import, oracle

torch = lazy_import("torch")  # imported only when an oracle is computed live
F = lazy_import("torch.nn.functional")

pytestmark = [pytest.mark.visibility("visible")]

# Tolerances. In float64 every correct formulation (log-sum-exp, loops, another summation order)
# agrees with torch to ~1e-12 relative; rtol 1e-7 leaves room for such variety, while the bugs
# these tests exist for (no 1/B, a dropped batch, a wrong sign) give errors of order 1. Float64
# inputs cast to float32 inside come out ~1e-7 to 1e-5 off: the notebook asks for float64
# arithmetic on float64 inputs (its grading notes, the docstrings, the public tests' comment).


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def problem(seed: int, batch: int, n: int = 20, k: int = 7, dtype: type = np.float64):
    r = rng(seed)
    X = r.standard_normal((batch, n)).astype(dtype)
    y = r.integers(0, k, size=batch).astype(np.uint8)
    theta = (0.1 * r.standard_normal((n, k))).astype(dtype)
    return X, y, theta


@oracle
def torch_loss(Z: np.ndarray, y: np.ndarray) -> float:
    return float(
        F.cross_entropy(
            torch.from_numpy(Z.astype(np.float64)), torch.from_numpy(y.astype(np.int64))
        )
    )


@oracle
def torch_grad(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(
        torch.from_numpy(X.astype(np.float64)) @ t, torch.from_numpy(y.astype(np.int64))
    )
    loss.backward()
    return t.grad.numpy()


@oracle
def torch_numeric_grad(X: np.ndarray, y: np.ndarray, theta: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of torch's mean cross-entropy loss, in float64."""
    Xt, yt = torch.from_numpy(X.astype(np.float64)), torch.from_numpy(y.astype(np.int64))

    def loss(th: np.ndarray) -> float:
        return float(F.cross_entropy(Xt @ torch.from_numpy(th), yt))

    return numeric_grad(loss, theta, eps=eps)


@oracle
def torch_sgd_epoch(
    X: np.ndarray, y: np.ndarray, theta: np.ndarray, lr: float, batch: int
) -> np.ndarray:
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([t], lr=lr)
    Xt, yt = torch.from_numpy(X.astype(np.float64)), torch.from_numpy(y.astype(np.int64))
    for start in range(0, X.shape[0], batch):
        opt.zero_grad()
        F.cross_entropy(Xt[start : start + batch] @ t, yt[start : start + batch]).backward()
        opt.step()
    return t.detach().numpy()


def check_loss(
    sub,
    Z: np.ndarray,
    y: np.ndarray,
    *,
    rtol: float,
    atol: float,
    float64: bool = False,
    note: str = "",
) -> None:
    """The student's loss of (Z, y) against torch's cross_entropy in float64; with `float64`,
    the loss must not be a float of less precision than float64 (a Python float is float64; a
    longdouble is more precise, not rounded), as float64 logits must give."""
    result = sub.softmax_loss(Z, y)
    loss = as_scalar(result, "the loss")
    dtype = as_array(result, "the loss").dtype
    assert not (float64 and dtype.kind == "f" and dtype.itemsize < 8), (
        f"the loss of float64 logits is a {dtype} number: float64 inputs must give float64 "
        "results (compute in float64 and return float(...), a Python float)"
    )
    assert_close(loss, torch_loss(Z, y), rtol=rtol, atol=atol, name="the loss", note=note)


def check_grad(sub, X, y, theta, *, rtol: float, atol: float) -> None:
    """The student's gradient against torch autograd in float64. Float64 inputs must give a
    float64 gradient ("float64 inputs must give float64 results"): a result cast to float32 at
    the end is only rounded, ~6e-8 relative, which rtol 1e-7 cannot tell from the right answer."""
    grad = sub.softmax_regression_grad(X, y, theta)
    dtype = np.float64 if X.dtype == theta.dtype == np.float64 else None  # float32: either
    assert_close(
        grad, torch_grad(X, y, theta), rtol=rtol, atol=atol, name="the gradient", dtype=dtype
    )


# ---- parse_mnist -----------------------------------------------------------------------------


def idx_files(
    sub, seed: int, count: int, low: int = 0, high: int = 255
) -> tuple[str, str, np.ndarray, np.ndarray]:
    """IDX files of `count` images with pixels in [low, high] (both always present) and labels."""
    r = rng(seed)
    pixels = r.integers(low, high + 1, size=(count, 28, 28), dtype=np.uint8)
    pixels[0, 0, :3] = (low, high, (low + high) // 2)  # the extremes and a middle value
    labels = r.integers(0, 10, size=count, dtype=np.uint8)
    images = gzip.compress(struct.pack(">4I", 2051, count, 28, 28) + pixels.tobytes())
    label_bytes = gzip.compress(struct.pack(">2I", 2049, count) + labels.tobytes())
    img = sub.put_file(f"images-{seed}-idx3-ubyte.gz", images)
    lbl = sub.put_file(f"labels-{seed}-idx1-ubyte.gz", label_bytes)
    return img, lbl, pixels, labels


# Said when parse_mnist refuses (ValueError) files that are well formed. The usual cause is the
# byte order: struct.unpack("4I", ...) without ">" reads the header in the machine's order
# (little-endian on x86 and ARM), where 2051 reads 50855936 and the counts are absurd.
WELL_FORMED = (
    "These files are well formed (magic numbers 2051 and 2049, as many images and labels as "
    'their headers say). The header\'s integers are big-endian: struct.unpack(">4I", ...) and '
    '">2I"; without ">" they are read in the machine\'s byte order, little-endian on most '
    "computers, where 2051 reads as 50855936 and 2049 as 17301504."
)


def parse_well_formed(sub, img: str, lbl: str):
    """parse_mnist of well-formed files; a ValueError it raises is explained (WELL_FORMED)."""
    try:
        return sub.parse_mnist(img, lbl)
    except AssertionError as exc:  # what the student's code raised (blame.StudentError)
        if "ValueError" not in getattr(exc, "raised", ()):
            raise
        raise AssertionError(f"{exc}\n\n{WELL_FORMED}") from None


@pytest.mark.points(2)
@pytest.mark.tags("parse_mnist")
def test_parse_mnist_images(sub):
    """parse_mnist: images are float32 (N, 784) scaled to [0, 1]"""
    img, lbl, pixels, _ = idx_files(sub, seed=1, count=37)
    result = parse_well_formed(sub, img, lbl)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "parse_mnist should return (X, y)"
    )
    # pixel / 255 in float32 is exact to float32 rounding: half an ulp of 1.0 is 6e-8.
    assert_close(
        result[0], pixels.reshape(37, 784) / 255.0, rtol=0, atol=1e-6, name="X", dtype=np.float32
    )
    # The notebook says "divide by 255": on images whose pixels span 10..200, dividing by the
    # largest pixel (or min-max scaling) no longer coincides with it (errors ~0.2, not 1e-6).
    img, lbl, pixels, _ = idx_files(sub, seed=18, count=9, low=10, high=200)
    assert_close(
        parse_well_formed(sub, img, lbl)[0],
        pixels.reshape(9, 784) / 255.0,
        rtol=0,
        atol=1e-6,
        name="X of images whose pixels are all between 10 and 200 (divide by 255)",
        dtype=np.float32,
    )


@pytest.mark.points(1)
@pytest.mark.tags("parse_mnist")
def test_parse_mnist_labels(sub):
    """parse_mnist: labels are uint8 (N,)"""
    img, lbl, _, labels = idx_files(sub, seed=2, count=11)
    result = parse_well_formed(sub, img, lbl)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "parse_mnist should return (X, y)"
    )
    assert_close(result[1], labels, rtol=0, atol=0, name="y", dtype=np.uint8)  # integers: exact


@pytest.mark.points(1)
@pytest.mark.tags("parse_mnist")
def test_parse_mnist_refuses_malformed_files(sub):
    """parse_mnist: a wrong magic number or a file shorter than its header says raises ValueError"""
    # The notebook: "Check the magic numbers and the sizes, and raise a ValueError with a
    # helpful message when they are wrong." Each file below is wrong in one way only. First the
    # same files, well formed, must parse: a parse_mnist that always raises earns nothing here.
    count = 12
    img, lbl, good_pixels, good_labels = idx_files(sub, seed=19, count=count)
    X, y = parse_well_formed(sub, img, lbl)
    well_formed = "of well-formed files (parsed first, before the malformed ones)"
    assert_close(X, good_pixels.reshape(count, 784) / 255.0, rtol=0, atol=1e-6,
                 name=f"X {well_formed}", dtype=np.float32)  # fmt: skip
    assert_close(y, good_labels, rtol=0, atol=0, name=f"y {well_formed}", dtype=np.uint8)
    pixels, labels = good_pixels.tobytes(), good_labels.tobytes()

    def images(magic: int = 2051, data: bytes = pixels) -> bytes:
        return gzip.compress(struct.pack(">4I", magic, count, 28, 28) + data)

    def labels_file(magic: int = 2049, data: bytes = labels) -> bytes:
        return gzip.compress(struct.pack(">2I", magic, count) + data)

    cases = {
        "an images file with the labels' magic number 2049": (images(magic=2049), labels_file()),
        "a labels file with the images' magic number 2051": (images(), labels_file(magic=2051)),
        # One whole image short: reshape(-1, 784) would not notice.
        f"an images file whose header says {count} images but that holds {count - 1}": (
            images(data=pixels[: -28 * 28]),
            labels_file(),
        ),
        f"a labels file whose header says {count} labels but that holds {count - 1}": (
            images(),
            labels_file(data=labels[:-1]),
        ),
    }
    for k, (what, (image_bytes, label_bytes)) in enumerate(cases.items()):
        img = sub.put_file(f"bad{k}-images-idx3-ubyte.gz", image_bytes)
        lbl = sub.put_file(f"bad{k}-labels-idx1-ubyte.gz", label_bytes)
        assert_raises(lambda: sub.parse_mnist(img, lbl), "ValueError", f"parse_mnist of {what}")  # noqa: B023 - called at once


# ---- softmax_loss ----------------------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.tags("softmax_loss")
def test_loss_matches_torch(sub):
    """softmax_loss: matches torch cross_entropy (float64)"""
    r = rng(3)
    Z, y = 3 * r.standard_normal((50, 10)), r.integers(0, 10, size=50).astype(np.uint8)
    # Both sides in float64 (see the tolerances note above). A float64 loss rounded to float32
    # at the end is off by ~6e-8 relative, which rtol cannot see: its dtype says it.
    check_loss(sub, Z, y, rtol=1e-7, atol=1e-10, float64=True)
    # Confident predictions: each true-class logit 10 above its row, so every row's loss is
    # log(1 + s) with s ~ 1e-3. Float64 logits computed in float32 inside and returned as a
    # Python float keep the right dtype and, on the logits above, errors near float32's 6e-8
    # that rtol 1e-7 cannot see; here float32 rounds 1 + s to 1.2e-7 absolute, ~1e-4 of the
    # loss. Float64 (any correct formulation, the max added back or not) stays ~1e-12 relative.
    Z, y = r.standard_normal((40, 10)), r.integers(0, 10, size=40).astype(np.uint8)
    Z[np.arange(40), y] += 10.0
    note = (
        "these are confident predictions (each true class 10 logits ahead, a loss of ~1e-3): "
        "float64 logits must be computed in float64, with no cast to float32 inside (float32 "
        "keeps only ~7 digits of the 1 + 0.001 whose log is the loss)"
    )
    check_loss(sub, Z, y, rtol=1e-7, atol=1e-12, float64=True, note=note)


@pytest.mark.points(1)
@pytest.mark.tags("softmax_loss")
def test_loss_float32(sub):
    """softmax_loss: float32 logits"""
    r = rng(4)
    Z, y = (
        (3 * r.standard_normal((64, 10))).astype(np.float32),
        r.integers(0, 10, size=64).astype(np.uint8),
    )
    # float32 log-sum-exp over 10 classes: a few float32 ulps (1.2e-7) per row, averaged: 1e-5 is ample.
    check_loss(sub, Z, y, rtol=1e-5, atol=1e-6)


@pytest.mark.points(2)
@pytest.mark.tags("softmax_loss", "stability")
def test_loss_large_logits(sub):
    """softmax_loss: logits near 1000 and -1000 do not overflow"""
    r = rng(5)
    Z = 1000.0 + 5 * r.standard_normal((20, 10))
    Z[0] = [1000.0] * 9 + [-1000.0]
    y = r.integers(0, 10, size=20).astype(np.uint8)
    # Row 0's true class has probability e^-2000, 0 in float64: -log(softmax) gives inf, while
    # log-sum-exp minus the logit gives 2000 + log 9. Row 1 lies ~2000 below the others: a shift
    # by the batch's largest logit (not each row's) leaves its exponentials all 0, and log(0).
    y[0] = 9
    Z[1] = -1000.0 + 5 * r.standard_normal(10)
    # Shifted log-sum-exp is exact to float64 rounding of numbers near 1000; unshifted gives inf/nan.
    check_loss(sub, Z, y, rtol=1e-7, atol=1e-9)


@pytest.mark.points(1)
@pytest.mark.tags("softmax_loss")
def test_loss_whole_training_set(sub):
    """softmax_loss: the logits of all 60,000 training images at once"""
    # train_softmax calls softmax_loss on the whole training set (the notebook says so). A
    # (B, 1) log-sum-exp minus the (B,) picked logits broadcasts to (B, B): its mean is the
    # right number, but 60,000 x 60,000 float64 is 29 GB, which no worker can allocate
    # (MemoryError); everything of Z's size is 4.8 MB.
    # 100 copies of 600 random rows: the mean loss is the 600 rows' own (torch's, on those), and
    # the test's set-up draws and hashes 600 rows, not 60,000 (~20 ms less per run). A float64
    # mean of 60,000 terms of size ~3: summation order moves it by ~1e-13 relative.
    r = rng(20)
    Z_rows = 3 * r.standard_normal((600, 10))
    y_rows = r.integers(0, 10, size=600).astype(np.uint8)
    Z, y = np.tile(Z_rows, (100, 1)), np.tile(y_rows, 100)
    loss = as_scalar(sub.softmax_loss(Z, y), "the loss")
    assert_close(loss, torch_loss(Z_rows, y_rows), rtol=1e-7, atol=1e-10, name="the loss")


@pytest.mark.points(1)
@pytest.mark.tags("softmax_loss")
def test_loss_batch_of_one(sub):
    """softmax_loss: a batch of one example"""
    Z, y = np.array([[2.0, -1.0, 0.5]]), np.array([2], dtype=np.uint8)
    check_loss(sub, Z, y, rtol=1e-7, atol=1e-10)


# ---- softmax_regression_grad -----------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.tags("gradient")
def test_grad_matches_autograd(sub):
    """softmax_regression_grad: matches torch autograd (float64)"""
    X, y, theta = problem(6, batch=50)
    # float64 on both sides; sums of 50 terms of size ~1: errors ~1e-15 (see the note above).
    check_grad(sub, X, y, theta, rtol=1e-7, atol=1e-10)


@pytest.mark.points(2)
@pytest.mark.tags("gradient")
def test_grad_matches_numeric(sub):
    """softmax_regression_grad: matches central differences of the mean loss"""
    X, y, theta = problem(7, batch=6, n=4, k=3)
    # Central differences with eps=1e-6: truncation ~eps^2 = 1e-12, round-off ~1e-16/eps = 1e-10.
    expected = torch_numeric_grad(X, y, theta, eps=1e-6)
    assert_close(
        sub.softmax_regression_grad(X, y, theta),
        expected,
        rtol=1e-6,
        atol=1e-8,
        name="the gradient",
        dtype=np.float64,  # float64 inputs (see check_grad)
    )


@pytest.mark.points(1)
@pytest.mark.tags("gradient")
def test_grad_float32(sub):
    """softmax_regression_grad: float32 inputs"""
    X, y, theta = problem(8, batch=40, dtype=np.float32)
    # float32 products summed over 40 examples: relative error ~40 * 6e-8; 1e-4 leaves margin.
    check_grad(sub, X, y, theta, rtol=1e-4, atol=1e-6)


@pytest.mark.points(1)
@pytest.mark.tags("gradient")
def test_grad_batch_of_one(sub):
    """softmax_regression_grad: a batch of one example"""
    X, y, theta = problem(9, batch=1)
    check_grad(sub, X, y, theta, rtol=1e-7, atol=1e-10)


@pytest.mark.points(1)
@pytest.mark.tags("gradient", "stability")
def test_grad_large_logits(sub):
    """softmax_regression_grad: large logits stay finite and correct"""
    X, y, theta = problem(10, batch=30)
    # Logits with a spread of ~1,300, many beyond 709 where exp() overflows in float64: a gradient
    # without the max shift (or with the max added) gives inf/nan. Softmax saturates to near
    # one-hot; the gradient entries are O(3000) and float64 agrees with torch to ~1e-12 relative.
    X = 3000.0 * X
    check_grad(sub, X, y, theta, rtol=1e-7, atol=1e-7)


# ---- softmax_regression_epoch ----------------------------------------------------------------


def run_epoch(sub, X, y, theta, **kwargs) -> tuple[np.ndarray, object]:
    """theta after the student's epoch, however it was delivered (in place, or returned)."""
    call = sub.softmax_regression_epoch.with_args(X, y, theta, **kwargs)
    after = call.args[2]
    if (
        call.value is not None
        and isinstance(call.value, np.ndarray)
        and np.array_equal(after, theta)
    ):
        after = call.value  # returned a new theta instead of updating in place (tested separately)
    return after, call.value


def tolerances(dtype: type) -> tuple[float, float]:
    # float64: the updates match torch up to summation order (see the tolerances note above);
    # float32: ceil(N / batch) float32 updates, each with ~1e-6 relative error: 1e-4 leaves margin.
    return (1e-7, 1e-10) if dtype == np.float64 else (1e-4, 1e-6)


# Said when an epoch's theta is off: the cause may be the gradient the epoch calls.
EPOCH = "the epoch takes steps with your softmax_regression_grad: if its tests fail, fix it first"


def assert_sgd_step(X, y, theta, after, lr: float, batch: int) -> None:
    """`after` must be one epoch of minibatch SGD from `theta` with the true gradient (torch's).

    There is no credit for "SGD with the student's own gradient": computing that would ask the
    student's gradient function for the expectation, and a function that keeps state can tell
    such a replay from its use in the epoch and steer it. A wrong gradient therefore also costs
    the epoch tests (except the batch-of-one one, where a sum is the mean)."""
    rtol, atol = tolerances(theta.dtype.type)
    expected = torch_sgd_epoch(X, y, theta, lr, batch)
    assert_close(after, expected, rtol=rtol, atol=atol, name="theta after one epoch", note=EPOCH)


def assert_sgd_epoch(
    sub, seed: int, N: int, batch: int, lr: float, dtype: type = np.float64
) -> None:
    """The student's epoch (however it delivers theta) must be one epoch of minibatch SGD."""
    X, y, theta = problem(seed, batch=N, dtype=dtype)
    after, _ = run_epoch(sub, X, y, theta, lr=lr, batch=batch)
    assert_sgd_step(X, y, theta, after, lr, batch)


@pytest.mark.points(2)
@pytest.mark.tags("epoch")
def test_epoch_even_batches(sub):
    """softmax_regression_epoch: minibatch SGD, batches that divide N"""
    assert_sgd_epoch(sub, seed=11, N=40, batch=10, lr=0.3)


@pytest.mark.points(2)
@pytest.mark.tags("epoch")
def test_epoch_last_partial_batch(sub):
    """softmax_regression_epoch: the last, smaller batch is used too"""
    assert_sgd_epoch(sub, seed=12, N=43, batch=10, lr=0.3)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_batch_of_one(sub):
    """softmax_regression_epoch: batch=1"""
    assert_sgd_epoch(sub, seed=13, N=7, batch=1, lr=0.05)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_default_arguments(sub):
    """softmax_regression_epoch: defaults lr=0.1, batch=100"""
    X, y, theta = problem(14, batch=250)
    after, _ = run_epoch(sub, X, y, theta)  # no lr, no batch: the defaults must be 0.1 and 100
    assert_sgd_step(X, y, theta, after, lr=0.1, batch=100)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_float32(sub):
    """softmax_regression_epoch: float32 data and theta"""
    assert_sgd_epoch(sub, seed=15, N=64, batch=16, lr=0.2, dtype=np.float32)


@pytest.mark.points(2)
@pytest.mark.tags("epoch")
def test_epoch_updates_in_place(sub):
    """softmax_regression_epoch: updates theta in place and returns None"""
    X, y, theta = problem(16, batch=30, dtype=np.float32)
    call = sub.softmax_regression_epoch.with_args(X, y, theta, lr=0.5, batch=10)
    after = call.args[2]
    if np.array_equal(after, theta):
        raise AssertionError(
            "theta was not changed in place: update it with `theta -= ...` (or theta[:] = ...) "
            "instead of creating a new array"
            + (" and returning it" if call.value is not None else "")
        )
    assert call.value is None, (
        f"the epoch should return None, but returned {type(call.value).__name__}"
    )
    assert after.dtype == np.float32, f"theta changed dtype to {after.dtype}; it must stay float32"
    # Only theta may change: the minibatches are views of X, so a gradient that scales its X in
    # place (X /= B) corrupts the training data of every later epoch. Exact: nothing may change.
    for name, before, left in (("X", X, call.args[0]), ("y", y, call.args[1])):
        assert np.array_equal(left, before), (
            f"the epoch changed {name}, the training data: only theta may be updated in place "
            "(did a function write into a minibatch, e.g. `X /= ...` or `X -= ...`?)"
        )
    # Changed in place, but by an SGD step? (Even batches: the partial batch is tested elsewhere.)
    assert_sgd_step(X, y, theta, after, lr=0.5, batch=10)


@pytest.mark.points(1)
@pytest.mark.tags("epoch")
def test_epoch_trains_like_torch_sgd(sub):
    """softmax_regression_epoch: end to end, the same theta as torch.optim.SGD"""
    X, y, theta = problem(17, batch=95, n=12, k=5)
    after, _ = run_epoch(sub, X, y, theta, lr=0.4, batch=20)
    # float64 throughout; see test_epoch_even_batches.
    assert_close(
        after,
        torch_sgd_epoch(X, y, theta, 0.4, 20),
        rtol=1e-7,
        atol=1e-10,
        name="theta after one epoch",
        note=EPOCH,
    )
