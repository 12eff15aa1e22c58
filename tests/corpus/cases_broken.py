"""Broken and unusual submissions: malformed uploads, correct work written in unusual ways, and
the realistic mistakes of issue #2; see build_corpus.py."""

from __future__ import annotations

from pathlib import Path

import nbformat
from corpus_kit import (
    HW,
    Big,
    Case,
    Folder,
    Link,
    after_all,
    notebook,
    reference,
    src,
    with_functions,
)

# ---- malformed uploads -----------------------------------------------------------------------


def _v3_notebook() -> dict:
    """The reference's graded cells in nbformat 3 (worksheets, `input`): converted and graded."""
    cells = [
        {
            "cell_type": "code",
            "collapsed": False,
            "input": source,
            "language": "python",
            "metadata": {},
            "outputs": [],
        }
        for source in reference()
    ]
    return {
        "metadata": {"name": "hw1_softmax"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [{"cells": cells, "metadata": {}}],
    }


def _ten_thousand_cells(path: Path) -> None:
    """10,000 code cells: the reference, then cells that each raise (all run, feedback capped)."""
    extra = [f"raise ValueError('cell {i}')" for i in range(10_000 - len(reference()))]
    path.write_text(nbformat.writes(notebook([*reference(), *extra])))


def _two_hundred_mb(path: Path) -> None:
    """The reference with 200 MB of saved output in one cell."""
    nb = notebook(list(reference()))
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="@FILL@")]
    head, tail = nbformat.writes(nb).split("@FILL@")
    with open(path, "w") as f:
        f.write(head)
        for _ in range(200):
            f.write("loss 0.25 " * 100_000)  # 1 MB
        f.write(tail)


def _deeply_nested(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


MALFORMED = [
    Case("not_json", "malformed", "Python source saved as .ipynb", lambda ctx: b"print('hi')\n"),
    Case(
        "json_not_notebook",
        "malformed",
        "valid JSON that is not a notebook",
        lambda ctx: {"name": "hw1", "answers": [1, 2, 3]},
    ),
    Case(
        "invalid_notebook",
        "malformed",
        "a notebook whose cells break the nbformat schema",
        lambda ctx: {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"x": 1}]},
    ),
    Case(
        "deeply_nested_json",
        "malformed",
        "100,000 nested JSON arrays",
        lambda ctx: Big(_deeply_nested),
    ),
    Case(
        "nbformat_v3",
        "malformed",
        "the reference saved as an nbformat 3 notebook (converted to v4 and graded)",
        lambda ctx: _v3_notebook(),
    ),
    Case(
        "no_code_cells",
        "malformed",
        "markdown only",
        lambda ctx: [("# My answers\nSee the attached PDF.", ["markdown"])],
    ),
    Case(
        "ten_thousand_cells",
        "malformed",
        "10,000 code cells, almost all of which raise",
        lambda ctx: Big(_ten_thousand_cells),
    ),
    Case(
        "two_hundred_mb_notebook",
        "malformed",
        "the reference with 200 MB of saved output",
        lambda ctx: Big(_two_hundred_mb),
    ),
    Case(
        "binary_renamed",
        "malformed",
        "a PNG renamed .ipynb",
        lambda ctx: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    ),
    Case("empty_file", "malformed", "a file of 0 bytes", lambda ctx: b""),
    Case("empty_folder", "malformed", "an upload with no file at all", lambda ctx: Folder({})),
    Case(
        "several_notebooks",
        "malformed",
        "two notebooks, neither named hw1_softmax.ipynb",
        lambda ctx: Folder({"attempt1.ipynb": list(reference()), "attempt2.ipynb": ["x = 1"]}),
    ),
    Case(
        "several_notebooks_one_named",
        "malformed",
        "hw1_softmax.ipynb beside a scratch notebook and a checkpoint",
        lambda ctx: Folder(
            {
                HW.notebook_name: list(reference()),
                "scratch.ipynb": ["def softmax_loss(Z, y):\n    return 0.0"],
                ".ipynb_checkpoints/hw1_softmax-checkpoint.ipynb": ["x = 1"],
            }
        ),
    ),
    Case(
        "symlink_to_reference",
        "malformed",
        "hw1_softmax.ipynb is a symbolic link to the master notebook",
        lambda ctx: Folder({HW.notebook_name: Link(str(HW.master))}),
    ),
]

# ---- correct work, written in unusual ways: full marks ----------------------------------------

LOOPS = """
import gzip
import math
import struct

import numpy as np


def parse_mnist(image_filename, label_filename):
    with gzip.open(image_filename, "rb") as f:
        magic, n, rows, cols = struct.unpack(">4I", f.read(16))
        raw = f.read()
    if magic != 2051 or len(raw) != n * rows * cols:
        raise ValueError("not an IDX images file, or the wrong size")
    X = np.zeros((n, rows * cols), dtype=np.float32)
    for i in range(n):
        for j in range(rows * cols):
            X[i, j] = raw[i * rows * cols + j] / 255.0
    with gzip.open(label_filename, "rb") as f:
        magic, m = struct.unpack(">2I", f.read(8))
        raw = f.read()
    if magic != 2049 or len(raw) != m:
        raise ValueError("not an IDX labels file, or the wrong size")
    y = np.zeros(m, dtype=np.uint8)
    for i in range(m):
        y[i] = raw[i]
    return X, y


def softmax_loss(Z, y):
    total = 0.0
    for b in range(Z.shape[0]):
        top = max(float(v) for v in Z[b])
        s = sum(math.exp(float(v) - top) for v in Z[b])
        total += math.log(s) + top - float(Z[b, y[b]])
    return total / Z.shape[0]


def softmax_regression_grad(X, y, theta):
    B, n = X.shape
    k = theta.shape[1]
    G = np.zeros((n, k), dtype=np.result_type(X, theta))
    for b in range(B):
        logits = [sum(float(X[b, i]) * float(theta[i, j]) for i in range(n)) for j in range(k)]
        top = max(logits)
        e = [math.exp(v - top) for v in logits]
        s = sum(e)
        for j in range(k):
            p = e[j] / s - (1.0 if j == y[b] else 0.0)
            for i in range(n):
                G[i, j] += X[b, i] * p
    return G / B


def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
    start = 0
    while start < X.shape[0]:
        G = softmax_regression_grad(X[start : start + batch], y[start : start + batch], theta)
        for i in range(theta.shape[0]):
            for j in range(theta.shape[1]):
                theta[i, j] -= lr * G[i, j]
        start += batch
"""

FLOAT64 = """
import gzip

import numpy as np


def parse_mnist(image_filename, label_filename):
    with gzip.open(image_filename) as f:
        raw = f.read()
    if raw[:4] != b"\\x00\\x00\\x08\\x03" or int.from_bytes(raw[4:8], "big") * 784 != len(raw) - 16:
        raise ValueError("not an IDX file of 28x28 images")
    data = np.frombuffer(raw, np.uint8, offset=16).astype(np.float64)
    with gzip.open(label_filename) as f:
        raw = f.read()
    if raw[:4] != b"\\x00\\x00\\x08\\x01" or int.from_bytes(raw[4:8], "big") != len(raw) - 8:
        raise ValueError("not an IDX labels file")
    y = np.frombuffer(raw, np.uint8, offset=8).copy()
    return (data.reshape(len(y), 784) / 255.0).astype(np.float32), y


def softmax_loss(Z, y):
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y])


def softmax_regression_grad(X, y, theta):
    X, theta = X.astype(np.float64), theta.astype(np.float64)
    Z = X @ theta
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return X.T @ P / len(y)


def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
    work = theta.astype(np.float64)
    for start in range(0, len(y), batch):
        work -= lr * softmax_regression_grad(X[start : start + batch], y[start : start + batch], work)
    theta[...] = work
"""

HELPERS: list[str | tuple[str, list[str]]] = [
    ("# Homework 1\nMy notes on softmax regression.", ["markdown"]),
    "%matplotlib inline\n!echo setting up\nimport numpy as np\nimport gzip, struct",
    "%%time\nprint('timing the imports')",
    """
    class SoftmaxRegression:
        \"\"\"A tiny model object (extra structure the grader should not mind).\"\"\"

        def __init__(self, k):
            self.k = k

        @staticmethod
        def probabilities(Z):
            Z = Z - Z.max(axis=1, keepdims=True)
            E = np.exp(Z)
            return E / E.sum(axis=1, keepdims=True)

        @staticmethod
        def log_probabilities(Z):
            # Not np.log(probabilities): a probability that underflows to 0 has log -inf.
            Z = Z - Z.max(axis=1, keepdims=True)
            return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


    def one_hot(y, k):
        out = np.zeros((len(y), k))
        out[np.arange(len(y)), y] = 1
        return out
    """,
    "",
    """
    def read_idx(filename, header, magic):
        with gzip.open(filename, "rb") as f:
            dims = struct.unpack(">" + "I" * header, f.read(4 * header))
            data = np.frombuffer(f.read(), dtype=np.uint8)
        if dims[0] != magic or data.size != int(np.prod(dims[1:])):
            raise ValueError(f"{filename}: not an IDX file of shape {dims[1:]}")
        return dims, data


    def parse_mnist(image_filename, label_filename):
        (_, n, rows, cols), pixels = read_idx(image_filename, 4, 2051)
        _, labels = read_idx(label_filename, 2, 2049)
        return pixels.reshape(n, rows * cols).astype(np.float32) / 255, labels.copy()
    """,
    """
    def softmax_loss(Z, y):
        log_p = SoftmaxRegression.log_probabilities(Z)
        return float(-np.mean(log_p[np.arange(len(y)), y]))
    """,
    """
    def softmax_regression_grad(X, y, theta):
        P = SoftmaxRegression.probabilities(X @ theta)
        return X.T @ (P - one_hot(y, theta.shape[1])) / len(y)
    """,
    """
    def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
        for start in range(0, len(y), batch):
            end = min(start + batch, len(y))
            theta -= lr * softmax_regression_grad(X[start:end], y[start:end], theta)
    """,
    "assert abs(softmax_loss(np.zeros((2, 3)), np.array([0, 1])) - np.log(3)) < 1e-12",
    (
        "theta = np.zeros((784, 10))\nfor epoch in range(100):\n    pass  # training",
        ["skip-grading"],
    ),
]

RENAMED = """
import gzip as gz
from struct import unpack as unpack_header

import numpy as jnp
from numpy import exp, log


def parse_mnist(image_filename, label_filename):
    with gz.open(image_filename) as f:
        magic, n, rows, cols = unpack_header(">4I", f.read(16))
        if magic != 2051:
            raise ValueError(f"magic number {magic}")
        X = jnp.frombuffer(f.read(), dtype=jnp.uint8).reshape(n, rows * cols)
    with gz.open(label_filename) as f:
        magic, m = unpack_header(">2I", f.read(8))
        y = jnp.frombuffer(f.read(), dtype=jnp.uint8).copy()
    if magic != 2049 or len(y) != m:
        raise ValueError("a malformed labels file")
    return X.astype(jnp.float32) / jnp.float32(255), y


def softmax_loss(Z, y):
    Z = Z - Z.max(axis=1, keepdims=True)
    return float(jnp.mean(log(exp(Z).sum(axis=1)) - Z[jnp.arange(len(y)), y]))


def softmax_regression_grad(X, y, theta):
    Z = X @ theta
    S = exp(Z - Z.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    S[jnp.arange(len(y)), y] -= 1
    return X.T @ S / len(y)


def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
    for start in range(0, len(y), batch):
        theta -= lr * softmax_regression_grad(X[start : start + batch], y[start : start + batch], theta)
"""

CHATTY = """
import functools


def chatty(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        print(f"calling {function.__name__} with", *args)
        return function(*args, **kwargs)

    return wrapper


for _name in ("parse_mnist", "softmax_loss", "softmax_regression_grad", "softmax_regression_epoch"):
    globals()[_name] = chatty(globals()[_name])
for epoch in range(20_000):  # about 20 MB of progress lines
    print(f"epoch {epoch}: " + "loss 0.25 " * 100)
"""

UNUSUAL = [
    Case(
        "loops_not_vectorised",
        "unusual",
        "every function with Python loops instead of array operations",
        lambda ctx: [src(LOOPS)],
    ),
    Case(
        "float64_everywhere",
        "unusual",
        "computes in float64 throughout, casting only where the contract says",
        lambda ctx: [src(FLOAT64)],
    ),
    Case(
        "extra_helpers_and_cells",
        "unusual",
        "a class, helpers, markdown, magics, an empty cell, an assert, a tagged training cell",
        lambda ctx: [c if isinstance(c, tuple) else src(c) for c in HELPERS],
    ),
    Case(
        "renamed_imports",
        "unusual",
        "import numpy as jnp, from numpy import exp, log; struct and gzip renamed",
        lambda ctx: [src(RENAMED)],
    ),
    Case(
        "prints_a_lot",
        "unusual",
        "prints every argument of every call and 20 MB of progress",
        lambda ctx: after_all(CHATTY),
    ),
]

# ---- the realistic mistakes of issue #2: exactly the points of the tests they break ------------

REALISTIC = [
    Case(
        "loss_without_max_shift",
        "realistic",
        "softmax_loss exponentiates the logits as they are",
        lambda ctx: with_functions(
            softmax_loss="""
            def softmax_loss(Z, y):
                E = np.exp(Z)
                return float(np.mean(np.log(E.sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
            """
        ),
    ),
    Case(
        "grad_not_divided_by_batch",
        "realistic",
        "the gradient is the sum over the batch, not the mean",
        lambda ctx: with_functions(
            softmax_regression_grad="""
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S
            """
        ),
    ),
    Case(
        "epoch_drops_last_batch",
        "realistic",
        "the epoch skips the last, smaller minibatch",
        lambda ctx: with_functions(
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for start in range(0, X.shape[0] - batch + 1, batch):
                    Xb, yb = X[start : start + batch], y[start : start + batch]
                    theta -= lr * softmax_regression_grad(Xb, yb, theta)
            """
        ),
    ),
    Case(
        "epoch_returns_new_theta",
        "realistic",
        "the epoch builds a new theta and returns it instead of updating in place",
        lambda ctx: with_functions(
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    Xb, yb = X[start : start + batch], y[start : start + batch]
                    theta = theta - lr * softmax_regression_grad(Xb, yb, theta)
                return theta
            """
        ),
    ),
    Case(
        "epoch_wrong_defaults",
        "realistic",
        "the epoch's defaults are lr=0.5, batch=50 instead of lr=0.1, batch=100",
        lambda ctx: with_functions(
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.5, batch=50):
                for start in range(0, X.shape[0], batch):
                    Xb, yb = X[start : start + batch], y[start : start + batch]
                    theta -= lr * softmax_regression_grad(Xb, yb, theta)
            """
        ),
    ),
    Case(
        "epoch_scribbles_in_place",
        "realistic",
        "the epoch changes theta in place, but not by SGD (it halves it)",
        lambda ctx: with_functions(
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                theta *= 0.5
            """
        ),
    ),
]

CASES = [*MALFORMED, *UNUSUAL, *REALISTIC]
