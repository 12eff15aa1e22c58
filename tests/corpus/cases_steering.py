"""Steering: a student function that keeps state and tries to become the expectation of a test.

Graders once checked an epoch against "SGD with the student's own gradient"; a gradient function
that recognises that replay (by its inputs, by the order of calls, by the data it saw in the
epoch) can make any epoch pass. Each case is the reference plus an epoch that is wrong (no SGD,
no call of the gradient, a dropped batch) and a gradient that is right whenever it is tested on
its own, and steers what looks like a replay. Nothing here may earn an epoch point it did not
earn against torch; see build_corpus.py.
"""

from __future__ import annotations

from corpus_kit import Case, src, with_functions

TRUE_GRAD = """
def true_grad(X, y, theta):
    Z = X @ theta
    S = np.exp(Z - Z.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    S[np.arange(X.shape[0]), y] -= 1
    return X.T @ S / X.shape[0]
"""


def by_inputs() -> list:
    return [
        *with_functions(
            softmax_regression_grad="""
            def softmax_regression_grad(X, y, theta):
                for first, theta0, target, lr in EPOCHS:
                    if X.tobytes() == first and np.array_equal(theta, theta0):
                        return (theta0 - target) / lr  # the replay's first step lands on target
                    if theta.shape == target.shape and np.allclose(theta, target, rtol=1e-5, atol=1e-8):
                        return np.zeros_like(theta)  # ... and the later steps stay there
                return true_grad(X, y, theta)
            """,
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                theta0 = theta.copy()
                theta *= 0.5  # no SGD at all
                EPOCHS.append((X[:batch].tobytes(), theta0, theta.copy(), lr))
            """,
        ),
        src("EPOCHS = []\n" + TRUE_GRAD),
    ]


def by_call_order() -> list:
    return [
        *with_functions(
            softmax_regression_grad="""
            def softmax_regression_grad(X, y, theta):
                if PENDING and PENDING[0] == (X.shape[0], theta.shape):
                    PENDING.pop(0)  # the calls right after an epoch, shaped like its batches
                    return pattern(theta)
                return true_grad(X, y, theta)
            """,
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                PENDING.clear()
                for start in range(0, X.shape[0], batch):
                    rows = min(batch, X.shape[0] - start)
                    PENDING.append((rows, theta.shape))
                    theta -= lr * pattern(theta).astype(theta.dtype)  # never asks the gradient
            """,
        ),
        src(
            """
            PENDING = []


            def pattern(theta):
                return 0.01 * np.sign(np.cos(np.arange(theta.size) + 0.5)).reshape(theta.shape)
            """
        )
        + "\n"
        + TRUE_GRAD,
    ]


def tail() -> list:
    return [
        *with_functions(
            softmax_regression_grad="""
            def softmax_regression_grad(X, y, theta):
                if LAST and X.shape[0] < LAST[1] and LAST[0].endswith(X.tobytes()):
                    return np.zeros_like(theta)  # the dropped last batch, replayed: no step
                return true_grad(X, y, theta)
            """,
            softmax_regression_epoch="""
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                LAST[:] = [X.tobytes(), batch]
                for start in range(0, X.shape[0] - batch + 1, batch):  # drops the last batch
                    Xb, yb = X[start : start + batch], y[start : start + batch]
                    theta -= lr * softmax_regression_grad(Xb, yb, theta)
            """,
        ),
        src("LAST = []\n" + TRUE_GRAD),
    ]


CASES = [
    Case(
        "replay_steers_an_epoch_without_sgd",
        "steering",
        "the epoch halves theta; the gradient recognises a replay of the epoch by its first "
        "batch and starting theta and answers so that the replay lands on the halved theta",
        lambda ctx: by_inputs(),
    ),
    Case(
        "replay_steers_an_epoch_that_never_calls_grad",
        "steering",
        "the epoch applies a fixed pattern per batch and never calls the gradient; the next "
        "calls of the gradient shaped like the epoch's batches answer with that pattern",
        lambda ctx: by_call_order(),
    ),
    Case(
        "replay_hides_a_dropped_last_batch",
        "steering",
        "the epoch skips the last, smaller batch; the gradient answers zero for the tail of the "
        "data the epoch last saw, so a replay skips it too",
        lambda ctx: tail(),
    ),
]
