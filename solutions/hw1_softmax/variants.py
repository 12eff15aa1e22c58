"""Homework 1's variants (see dlhw.autograder.variants): realistic bugs that must lose points and
correct-but-unusual solutions that must keep full marks. tests/test_homeworks.py grades each."""

BUGS = {
    # Computed in float64, returned as a numpy float32: rounded to ~6e-8, which the tolerance
    # cannot see; the float64 test requires a float64 number (the notebook: a Python float).
    "loss_returned_as_float32_scalar": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                log_sum_exp = np.log(np.exp(Z).sum(axis=1))
                return np.float32(np.mean(log_sum_exp - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # Pixels left in 0..255: the most common parse_mnist slip.
    "parse_not_scaled": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    _, n, rows, cols = struct.unpack(">4I", f.read(16))
                    X = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols).astype(np.float32)
                with gzip.open(label_filename, "rb") as f:
                    f.read(8)
                    y = np.frombuffer(f.read(), dtype=np.uint8).copy()
                return X, y
        """,
    },
    # The magic numbers checked, the sizes not: reshape(-1, 784) takes a file one image short,
    # and the labels are never counted (the notebook asks for both checks).
    "parse_checks_magic_numbers_only": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    magic, _, _, _ = struct.unpack(">4I", f.read(16))
                    if magic != 2051:
                        raise ValueError(f"{image_filename}: magic number {magic}, not 2051")
                    X = np.frombuffer(f.read(), dtype=np.uint8).reshape(-1, 784)
                with gzip.open(label_filename, "rb") as f:
                    magic, _ = struct.unpack(">2I", f.read(8))
                    if magic != 2049:
                        raise ValueError(f"{label_filename}: magic number {magic}, not 2049")
                    y = np.frombuffer(f.read(), dtype=np.uint8).copy()
                return X.astype(np.float32) / np.float32(255), y
        """,
    },
    # The header left in the data: every image shifted by 16 bytes (and one row short).
    "parse_keeps_header": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    data = f.read()
                _, n, rows, cols = struct.unpack(">4I", data[:16])
                X = np.frombuffer(data[: n * rows * cols], dtype=np.uint8)
                X = X.reshape(n, rows * cols).astype(np.float32) / 255
                with gzip.open(label_filename, "rb") as f:
                    y = np.frombuffer(f.read()[8:], dtype=np.uint8).copy()
                return X, y
        """,
    },
    # A sum over the batch, not the mean.
    "loss_sum_not_mean": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                return float(np.sum(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # No max shift: exp overflows for logits around 1000.
    "loss_without_max_shift": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # The max taken over the batch (axis 0): a different constant per class changes the softmax.
    "loss_shift_wrong_axis": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=0, keepdims=True)
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # The gradient of the summed loss: no 1/B.
    "grad_missing_mean": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S
        """,
    },
    # I_y - S instead of S - I_y: gradient ascent.
    "grad_sign_flipped": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                I = np.zeros_like(S)
                I[np.arange(X.shape[0]), y] = 1
                return X.T @ (I - S) / X.shape[0]
        """,
    },
    # exp(Z) used as if it were already the softmax: no normalisation.
    "grad_unnormalised_softmax": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S / X.shape[0]
        """,
    },
    # No max shift in the gradient's softmax: exp overflows for logits beyond ~709.
    "grad_without_max_shift": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                S = np.exp(X @ theta)
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S / X.shape[0]
        """,
    },
    # The last, smaller minibatch is dropped.
    "epoch_drops_last_batch": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for start in range(0, X.shape[0] - batch + 1, batch):
                    theta -= lr * softmax_regression_grad(
                        X[start:start + batch], y[start:start + batch], theta)
        """,
    },
    # theta rebound to a new array: the caller's theta never changes.
    "epoch_not_in_place": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    theta = theta - lr * softmax_regression_grad(
                        X[start:start + batch], y[start:start + batch], theta)
        """,
    },
    # Every step uses the whole data set's gradient: full-batch descent, not minibatch SGD.
    "epoch_full_batch_gradient": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    theta -= lr * softmax_regression_grad(X, y, theta)
        """,
    },
    # The learning rate ignored (a hard-coded step).
    "epoch_ignores_lr": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    theta -= 0.1 * softmax_regression_grad(
                        X[start:start + batch], y[start:start + batch], theta)
        """,
    },
    # Scaled by the largest pixel, not by 255: the same on MNIST, not on dimmer images.
    "parse_divides_by_max_pixel": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    _, n, rows, cols = struct.unpack(">4I", f.read(16))
                    X = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols).astype(np.float32)
                X = X / X.max()
                with gzip.open(label_filename, "rb") as f:
                    f.read(8)
                    y = np.frombuffer(f.read(), dtype=np.uint8).copy()
                return X, y
        """,
    },
    # The max shift by the batch's largest logit, not each row's: a row far below it underflows.
    "loss_shift_by_global_max": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - np.max(Z)
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # -log of the (stable) softmax: a true class with probability ~0 gives log(0) = -inf.
    "loss_log_of_softmax": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                P = np.exp(Z - Z.max(axis=1, keepdims=True))
                P /= P.sum(axis=1, keepdims=True)
                return float(-np.mean(np.log(P[np.arange(len(y)), y])))
        """,
    },
    # 1/B applied to X in place: right gradient, but the epoch's minibatches are views of the
    # training data, which shrinks by 1/B every epoch.
    "grad_scales_X_in_place": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                X /= X.shape[0]
                return X.T @ S
        """,
    },
    # The max taken without keepdims: (B, k) - (B,) broadcasts along rows, a shape error unless
    # B == k, and then each column shifted by another row's max.
    "loss_shift_without_keepdims": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1)
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # Z[:, y] picks a (B, B) block (every row at every label): right only for a batch of one.
    "loss_picks_columns_not_entries": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[:, y]))
        """,
    },
    # Computed in float32 whatever the inputs: float64 answers only ~1e-6 right (the notebook
    # asks for float64 arithmetic on float64 inputs).
    "grad_cast_to_float32": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = (X @ theta).astype(np.float32)
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T.astype(np.float32) @ S / X.shape[0]
        """,
    },
    # Every minibatch's gradient at the epoch's starting theta (a stale copy).
    "epoch_gradients_at_stale_theta": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                theta0 = theta.copy()
                for i in range(0, X.shape[0], batch):
                    theta -= lr * softmax_regression_grad(X[i:i + batch], y[i:i + batch], theta0)
        """,
    },
    # N // batch + 1 minibatches: an empty last one (0 / 0 = nan) whenever batch divides N.
    "epoch_extra_empty_batch": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for i in range(X.shape[0] // batch + 1):
                    Xb, yb = X[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
                    theta -= lr * softmax_regression_grad(Xb, yb, theta)
        """,
    },
    # The gradient inlined and divided by `batch`: the last, smaller minibatch's step too small.
    "epoch_inline_gradient_divides_by_batch": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for i in range(0, X.shape[0], batch):
                    Xb, yb = X[i:i + batch], y[i:i + batch]
                    Z = Xb @ theta
                    P = np.exp(Z - Z.max(1, keepdims=True))
                    P /= P.sum(1, keepdims=True)
                    P[np.arange(len(yb)), yb] -= 1
                    theta -= lr * Xb.T @ P / batch
        """,
    },
    # keepdims on the log-sum-exp only: (B, 1) minus the (B,) picked logits broadcasts to (B, B).
    # Its mean is the right number, but train_softmax's 60,000 examples need a 29 GB matrix.
    "loss_keepdims_broadcasts_to_B_by_B": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                lse = np.log(np.exp(Z).sum(axis=1, keepdims=True))
                return float(np.mean(lse - Z[np.arange(len(y)), y]))
        """,
    },
    # Computed in float64, cast to float32 at the end: only rounded (~6e-8 relative, within
    # rtol 1e-7), but float64 inputs must give float64 results.
    "grad_result_cast_to_float32": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return (X.T @ S / X.shape[0]).astype(np.float32)
        """,
    },
    # A one-hot matrix of MNIST's 10 classes, whatever Z's width: right for k = 10 only.
    "loss_one_hot_eye_10": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                I_y = np.eye(10)[y]
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - (Z * I_y).sum(axis=1)))
        """,
    },
    # The labels read from the images' header offset, 16 bytes, not 8: 8 labels short.
    "parse_labels_at_image_offset": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    magic, n, rows, cols = struct.unpack(">4I", f.read(16))
                    if magic != 2051:
                        raise ValueError("bad magic")
                    X = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols)
                with gzip.open(label_filename, "rb") as f:
                    raw = f.read()
                if struct.unpack(">I", raw[:4])[0] != 2049:
                    raise ValueError("bad magic")
                y = np.frombuffer(raw, dtype=np.uint8, offset=16)
                return X.astype(np.float32) / 255, y.copy()
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # ChatGPT-style guard: labels must be int64 (parse_mnist itself gives uint8 labels).
    "loss_asserts_int64_labels": {
        "softmax_loss": """
            def softmax_loss(Z: np.ndarray, y: np.ndarray) -> float:
                \"\"\"Numerically stable mean cross-entropy.\"\"\"
                assert Z.ndim == 2, "Z must be 2-D"
                assert y.dtype == np.int64, f"y must be int64, got {y.dtype}"
                Z = Z - np.max(Z, axis=1, keepdims=True)
                log_probs = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
                return float(-np.mean(log_probs[np.arange(len(y)), y]))
        """,
    },
    # ChatGPT-style guard: float32 only ("we train in float32").
    "grad_asserts_float32": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
                assert X.dtype == np.float32 and theta.dtype == np.float32, "expected float32 inputs"
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S / X.shape[0]
        """,
    },
    # More: byte order, ChatGPT habits (int64 labels, asserts, scipy), a shift not added back.
    # struct.unpack("IIII", ...) without ">": native byte order, little-endian on x86, so the
    # magic number reads 0x03080000 and every well-formed file is refused.
    "parse_native_byte_order": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    magic, n, rows, cols = struct.unpack("IIII", f.read(16))
                    if magic != 2051:
                        raise ValueError(f"{image_filename}: bad magic number {magic}")
                    pixels = np.frombuffer(f.read(), dtype=np.uint8)
                if pixels.size != n * rows * cols:
                    raise ValueError(f"{image_filename}: expected {n} images")
                with gzip.open(label_filename, "rb") as f:
                    magic, m = struct.unpack("II", f.read(8))
                    if magic != 2049:
                        raise ValueError(f"{label_filename}: bad magic number {magic}")
                    y = np.frombuffer(f.read(), dtype=np.uint8).copy()
                if y.size != m or m != n:
                    raise ValueError(f"{label_filename}: expected {n} labels")
                return pixels.reshape(n, rows * cols).astype(np.float32) / 255, y
        """,
    },
    # Labels converted to int64 "for indexing" (ChatGPT's habit): the notebook asks for uint8.
    "parse_labels_as_int64": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    magic, n, rows, cols = struct.unpack(">4I", f.read(16))
                    if magic != 2051:
                        raise ValueError(f"{image_filename}: magic number {magic}, expected 2051")
                    pixels = np.frombuffer(f.read(), dtype=np.uint8)
                if pixels.size != n * rows * cols:
                    raise ValueError(f"{image_filename}: expected {n * rows * cols} pixels")
                with gzip.open(label_filename, "rb") as f:
                    magic, m = struct.unpack(">2I", f.read(8))
                    if magic != 2049:
                        raise ValueError(f"{label_filename}: magic number {magic}, expected 2049")
                    y = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)  # int64 labels for indexing
                if y.size != m or m != n:
                    raise ValueError(f"{label_filename}: expected {n} labels")
                return pixels.reshape(n, rows * cols).astype(np.float32) / 255, y
        """,
    },
    # The checks written as asserts: AssertionError, not the ValueError the notebook asks for
    # (and asserts vanish under python -O).
    "parse_asserts_instead_of_value_error": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    magic, n, rows, cols = struct.unpack(">4I", f.read(16))
                    assert magic == 2051, f"bad magic number {magic} in {image_filename}"
                    pixels = np.frombuffer(f.read(), dtype=np.uint8)
                assert pixels.size == n * rows * cols, "image file is truncated"
                with gzip.open(label_filename, "rb") as f:
                    magic, m = struct.unpack(">2I", f.read(8))
                    assert magic == 2049, f"bad magic number {magic} in {label_filename}"
                    y = np.frombuffer(f.read(), dtype=np.uint8).copy()
                assert y.size == m == n, "label file does not match the images"
                return pixels.reshape(n, rows * cols).astype(np.float32) / 255, y
        """,
    },
    # The log-sum-exp of the shifted logits minus the unshifted true-class logit: the shift
    # (the row's max) is never added back.
    "loss_shifted_lse_minus_unshifted_logit": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z_shift = Z - Z.max(axis=1, keepdims=True)
                lse = np.log(np.sum(np.exp(Z_shift), axis=1))
                return float(np.mean(lse - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # scipy.special.logsumexp in a graded cell: scipy is not installed where the grader runs it
    # (the notebook: graded cells use NumPy and the standard library only).
    "loss_scipy_logsumexp": {
        "softmax_loss": """
            from scipy.special import logsumexp


            def softmax_loss(Z, y):
                return float(np.mean(logsumexp(Z, axis=1) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # More: float32 arithmetic that returns float64, partial batches, dtypes, slicing.
    # Float64 logits cast to float32 "as in training" and the loss returned as a Python float:
    # the right dtype, ~1e-7 off on ordinary logits (before, one test caught it by 10%).
    "loss_computed_in_float32": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z.astype(np.float32)  # the training data is float32 anyway
                Z = Z - Z.max(axis=1, keepdims=True)
                return float(np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # The log-softmax form in float32 (np.float32(Z)), the mean taken in float64: kept full
    # marks before the confident-predictions check.
    "loss_float32_log_softmax": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = np.float32(Z)
                log_p = Z - Z.max(axis=1, keepdims=True)
                log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
                return -float(np.mean(log_p[np.arange(len(y)), y], dtype=np.float64))
        """,
    },
    # -log(p_y + 1e-12) "to avoid log(0)": finite, but a true class with probability e^-2000
    # gets a loss of 27.6 instead of 2000.
    "loss_log_softmax_plus_eps": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                P = np.exp(Z - Z.max(axis=1, keepdims=True))
                P /= P.sum(axis=1, keepdims=True)
                return float(-np.mean(np.log(P[np.arange(len(y)), y] + 1e-12)))
        """,
    },
    # A one-hot matrix as wide as the largest label in the batch, not as theta's k columns.
    "grad_one_hot_sized_by_labels": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                I_y = np.eye(y.max() + 1)[y]
                return X.T @ (S - I_y) / X.shape[0]
        """,
    },
    # Divided by theta.shape[0] (n, the features) where the batch size B was meant.
    "grad_divides_by_features": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S / theta.shape[0]
        """,
    },
    # The softmax computed in float32 for speed, the product cast back: float64 inputs only
    # ~1e-7 right.
    "grad_float32_softmax_only": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = (X @ theta).astype(np.float32)
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(X.shape[0]), y] -= 1
                return X.T @ S.astype(X.dtype) / X.shape[0]
        """,
    },
    # Shuffled "as SGD should be": the notebook asks for the minibatches in order.
    "epoch_shuffles": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                order = np.random.permutation(X.shape[0])
                X, y = X[order], y[order]
                for i in range(0, X.shape[0], batch):
                    theta -= lr * softmax_regression_grad(X[i:i + batch], y[i:i + batch], theta)
        """,
    },
    # X[i:batch] for X[i:i + batch]: the first minibatch, then empty ones (0 / 0 = nan).
    "epoch_slice_ends_at_batch": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for i in range(0, X.shape[0], batch):
                    theta -= lr * softmax_regression_grad(X[i:batch], y[i:batch], theta)
        """,
    },
    # np.array_split into ceil(N / batch) pieces: as many steps, but pieces of near-equal
    # size (43 by 10: 9, 9, 9, 8, 8), not full batches and a smaller last one.
    "epoch_array_split_by_count": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                n = int(np.ceil(X.shape[0] / batch))
                for Xb, yb in zip(np.array_split(X, n), np.array_split(y, n)):
                    theta -= lr * softmax_regression_grad(Xb, yb, theta)
        """,
    },
    # A 1/t learning-rate decay within the epoch, from the lecture's schedules.
    "epoch_lr_decays_within_epoch": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for k, i in enumerate(range(0, X.shape[0], batch)):
                    step = lr / (1 + k)
                    theta -= step * softmax_regression_grad(X[i:i + batch], y[i:i + batch], theta)
        """,
    },
    # Each minibatch cast to float32 "as MNIST is": float64 theta, float32-accurate steps.
    "epoch_minibatches_cast_to_float32": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for i in range(0, X.shape[0], batch):
                    Xb = X[i:i + batch].astype(np.float32)
                    theta -= lr * softmax_regression_grad(Xb, y[i:i + batch], theta)
        """,
    },
    # pixels / 255.0 on uint8: float64 images, where the notebook asks for float32.
    "parse_images_as_float64": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename, "rb") as f:
                    magic, n, rows, cols = struct.unpack(">4I", f.read(16))
                    if magic != 2051:
                        raise ValueError(f"{image_filename}: magic number {magic}")
                    pixels = np.frombuffer(f.read(), dtype=np.uint8)
                if pixels.size != n * rows * cols:
                    raise ValueError(f"{image_filename}: expected {n} images")
                with gzip.open(label_filename, "rb") as f:
                    magic, m = struct.unpack(">2I", f.read(8))
                    if magic != 2049:
                        raise ValueError(f"{label_filename}: magic number {magic}")
                    y = np.frombuffer(f.read(), dtype=np.uint8).copy()
                if y.size != m or m != n:
                    raise ValueError(f"{label_filename}: expected {n} labels")
                return pixels.reshape(n, rows * cols) / 255.0, y
        """,
    },
}

UNUSUAL = {
    # Returned as a numpy longdouble: more precise than float64, never rounded below it.
    "loss_returned_as_longdouble": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                log_sum_exp = np.log(np.exp(Z).sum(axis=1))
                return np.longdouble(np.mean(log_sum_exp - Z[np.arange(Z.shape[0]), y]))
        """,
    },
    # Row by row, with Python loops and a hand-written log-sum-exp.
    "loss_and_grad_with_loops": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                total = 0.0
                for row, label in zip(Z, y):
                    m = max(row)
                    total += m + np.log(sum(np.exp(v - m) for v in row)) - row[label]
                return total / len(y)
        """,
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                grad = np.zeros_like(theta, dtype=np.result_type(X, theta))
                for x, label in zip(X, y):
                    z = x @ theta
                    p = np.exp(z - z.max())
                    p /= p.sum()
                    p[label] -= 1
                    grad += np.outer(x, p)
                return grad / X.shape[0]
        """,
    },
    # An explicit one-hot matrix, the log-softmax form of the loss, and float64 inside.
    "one_hot_and_log_softmax": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z = np.asarray(Z, dtype=np.float64)
                log_p = Z - Z.max(axis=1, keepdims=True)
                log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
                return -np.mean(log_p[np.arange(len(y)), y])
        """,
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                I_y = np.eye(theta.shape[1], dtype=Z.dtype)[y]
                P = np.exp(Z - Z.max(axis=1, keepdims=True))
                P = P / P.sum(axis=1, keepdims=True)
                return (X.T @ (P - I_y) / len(y)).astype(Z.dtype)
        """,
    },
    # Minibatches by count, with np.array_split-style index arrays; parse with one read.
    "epoch_by_index_and_parse_in_one_read": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                n_batches = -(-X.shape[0] // batch)
                for b in range(n_batches):
                    idx = np.arange(b * batch, min((b + 1) * batch, X.shape[0]))
                    g = softmax_regression_grad(X[idx], y[idx], theta)
                    np.subtract(theta, lr * g, out=theta)
        """,
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                raw = gzip.open(image_filename).read()
                magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
                if magic != 0x803 or len(raw) != 16 + n * rows * cols:
                    raise ValueError(f"{image_filename} is not an IDX file of {n} images")
                X = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)
                X = (X / 255.0).astype(np.float32)
                raw = gzip.open(label_filename).read()
                if raw[:4] != bytes([0, 0, 8, 1]) or len(raw) - 8 != n:
                    raise ValueError(f"{label_filename} does not hold {n} labels")
                y = np.frombuffer(raw, dtype=np.uint8, offset=8)
                return X, np.array(y)
        """,
    },
    # A memoryview and struct.unpack_from; np.logaddexp and np.take_along_axis; explicit
    # one-hot by np.put_along_axis and einsum; np.array_split at the batch boundaries, theta[...] -=.
    "memoryview_logaddexp_array_split": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with open(image_filename, "rb") as raw:
                    buf = memoryview(gzip.decompress(raw.read()))
                magic, n, rows, cols = struct.unpack_from(">IIII", buf, 0)
                if magic != 2051:
                    raise ValueError(f"magic number {magic} is not 2051")
                # count=: a buffer shorter than the header says raises ValueError by itself.
                X = np.frombuffer(buf, dtype=np.uint8, count=n * rows * cols, offset=16)
                X = (X.reshape(n, -1).astype(np.float64) / 255.0).astype(np.float32)
                with open(label_filename, "rb") as raw:
                    labels = memoryview(gzip.decompress(raw.read()))
                (magic, m) = struct.unpack_from(">2I", labels)
                if (magic, len(labels) - 8) != (2049, m):
                    raise ValueError(f"not a labels file of {m} labels")
                return X, np.asarray(labels[8 : 8 + m], dtype=np.uint8)
        """,
        "softmax_loss": """
            def softmax_loss(Z, y):
                lse = np.logaddexp.reduce(Z, axis=1)
                picked = np.take_along_axis(Z, y.astype(np.intp)[:, None], axis=1)[:, 0]
                return np.mean(lse - picked)
        """,
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                P = np.exp(Z - np.logaddexp.reduce(Z, axis=1, keepdims=True))
                I = np.zeros_like(P)
                np.put_along_axis(I, y[:, None].astype(np.int64), 1, axis=1)
                return np.einsum("bn,bk->nk", X, P - I) / len(y)
        """,
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                cuts = list(range(batch, X.shape[0], batch))
                for Xb, yb in zip(np.array_split(X, cuts), np.array_split(y, cuts)):
                    theta[...] -= lr * softmax_regression_grad(Xb, yb, theta)
        """,
    },
    # The loss with the caller's Z shifted in place, a mean of each term, labels as a list.
    "loss_in_place_shift_split_means": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                Z -= Z.max(axis=1, keepdims=True)
                return float(np.log(np.exp(Z).sum(axis=1)).mean() - Z[range(len(y)), list(y)].mean())
        """,
    },
    # The gradient one class (column) at a time from a log-sum-exp.
    "grad_one_class_at_a_time": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                lse = Z.max(axis=1) + np.log(np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1))
                grad = np.empty_like(theta, dtype=Z.dtype)
                for j in range(theta.shape[1]):
                    grad[:, j] = X.T.dot(np.exp(Z[:, j] - lse) - (y == j)) / X.shape[0]
                return grad
        """,
    },
    # float64 throughout, also for float32 inputs (more precise than asked).
    "grad_always_float64": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                X, theta = np.asarray(X, np.float64), np.asarray(theta, np.float64)
                Z = X @ theta
                S = np.exp(Z - Z.max(axis=1, keepdims=True))
                S = S / S.sum(axis=1, keepdims=True)
                S[np.arange(len(y)), y] -= 1
                return X.T @ S / len(y)
        """,
    },
    # A local copy rebound at every step, written into the caller's theta at the end.
    "epoch_local_copy_written_back": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                t = theta.copy()
                for i in range(0, len(X), batch):
                    t = t - lr * softmax_regression_grad(X[i:i + batch], y[i:i + batch], t)
                theta[:] = t
        """,
    },
    # pathlib and gzip.decompress, the header by int.from_bytes, a 3-D reshape, * float32(1/255).
    "parse_from_bytes_times_reciprocal": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                from pathlib import Path

                raw = gzip.decompress(Path(image_filename).read_bytes())
                magic, n, r, c = (int.from_bytes(raw[i:i + 4], "big") for i in (0, 4, 8, 12))
                if magic != 2051:
                    raise ValueError("not an images file")
                images = np.frombuffer(raw, np.uint8, offset=16).reshape(n, r, c)  # sizes checked
                X = images.reshape(n, -1).astype(np.float32) * np.float32(1 / 255)
                labels = gzip.decompress(Path(label_filename).read_bytes())
                if int.from_bytes(labels[:4], "big") != 2049:
                    raise ValueError("not a labels file")
                if int.from_bytes(labels[4:8], "big") != len(labels) - 8:
                    raise ValueError("the labels file is shorter or longer than its header says")
                return X, np.frombuffer(labels[8:], dtype=np.uint8)
        """,
    },
    # gzip or plain files (told apart by gzip's magic bytes), the header by np.frombuffer(">u4"),
    # np.divide(dtype=np.float32), read-only labels straight from the buffer.
    "parse_gzip_or_plain_frombuffer_header": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                def read(name):
                    with open(name, "rb") as f:
                        raw = f.read()
                    return gzip.decompress(raw) if raw[:2] == b"\\x1f\\x8b" else raw

                raw = read(image_filename)
                magic, n, rows, cols = np.frombuffer(raw, dtype=">u4", count=4).astype(int)
                if magic != 2051 or len(raw) != 16 + n * rows * cols:
                    raise ValueError(f"{image_filename}: not an IDX images file of {n} images")
                X = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)
                raw = read(label_filename)
                magic, m = np.frombuffer(raw, dtype=">u4", count=2).astype(int)
                if magic != 2049 or len(raw) != 8 + m or m != n:
                    raise ValueError(f"{label_filename}: not an IDX labels file of {n} labels")
                return np.divide(X, 255, dtype=np.float32), np.frombuffer(raw, np.uint8, offset=8)
        """,
    },
    # The pixels read into a preallocated bytearray with readinto; header fields one at a time.
    "parse_readinto_bytearray": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                def u32(f):
                    return struct.unpack(">I", f.read(4))[0]

                with gzip.open(image_filename) as f:
                    if u32(f) != 2051:
                        raise ValueError("not an images file")
                    n, rows, cols = u32(f), u32(f), u32(f)
                    buf = bytearray(n * rows * cols)
                    got = f.readinto(buf)
                    if got != len(buf) or f.read(1):
                        raise ValueError(f"expected {len(buf)} pixels, read {got}")
                with gzip.open(label_filename) as f:
                    if u32(f) != 2049:
                        raise ValueError("not a labels file")
                    m = u32(f)
                    labels = f.read()
                if len(labels) != m:
                    raise ValueError(f"expected {m} labels, read {len(labels)}")
                X = np.frombuffer(buf, dtype=np.uint8).reshape(n, rows * cols) / np.float32(255)
                return X.astype(np.float32), np.frombuffer(labels, dtype=np.uint8)
        """,
    },
    # The true-class logits by np.choose; the log-sum-exp with the row maximum added back.
    "loss_np_choose_logsumexp": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                m = Z.max(axis=1)
                lse = m + np.log(np.sum(np.exp(Z - m[:, None]), axis=1))
                return float((lse - np.choose(y, Z.T)).mean())
        """,
    },
    # The one-hot part of the gradient accumulated with np.subtract.at on a transposed view.
    "grad_subtract_at": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                P = np.exp(Z - Z.max(axis=1, keepdims=True))
                P /= P.sum(axis=1, keepdims=True)
                grad = X.T @ P
                np.subtract.at(grad.T, y, X)  # column y_b loses x_b
                return grad / len(y)
        """,
    },
    # The gradient inlined in the epoch, divided by each minibatch's own size.
    "epoch_inline_gradient_len_batch": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for i in range(0, len(X), batch):
                    Xb, yb = X[i:i + batch], y[i:i + batch]
                    Z = Xb @ theta
                    P = np.exp(Z - Z.max(axis=1, keepdims=True))
                    P /= P.sum(axis=1, keepdims=True)
                    P[np.arange(len(yb)), yb] -= 1
                    theta -= (lr / len(yb)) * (Xb.T @ P)
        """,
    },
    # The files read into array.array('B'), scaled by a float32 reciprocal; the loss a 0-d
    # array, the true-class logits picked by a boolean one-hot mask.
    "parse_array_module_and_zero_d_loss": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                import array

                def read(name, magic_expected, header_ints):
                    with gzip.open(name, "rb") as f:
                        header = struct.unpack(">" + "I" * header_ints, f.read(4 * header_ints))
                        body = array.array("B")
                        body.frombytes(f.read())
                    if header[0] != magic_expected:
                        raise ValueError(f"{name}: magic {header[0]} is not {magic_expected}")
                    return header[1:], body

                (n, rows, cols), pixels = read(image_filename, 2051, 4)
                (m,), labels = read(label_filename, 2049, 2)
                if len(pixels) != n * rows * cols or len(labels) != m or m != n:
                    raise ValueError("the files are shorter or longer than their headers say")
                X = np.array(pixels, dtype=np.float32).reshape(n, rows * cols) * np.float32(1.0 / 255.0)
                return X, np.array(labels, dtype=np.uint8)
        """,
        "softmax_loss": """
            def softmax_loss(Z, y):
                B, k = Z.shape
                hot = y[:, None] == np.arange(k)
                shifted = Z - np.max(Z, axis=1)[:, None]
                return np.asarray(np.mean(np.log(np.exp(shifted).sum(1)) - shifted[hot]))
        """,
    },
    # The softmax computed in place on Z with out=, the gradient as two products; the epoch
    # a while loop with np.add(out=theta).
    "grad_two_products_epoch_while": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = X @ theta
                np.subtract(Z, Z.max(axis=1, keepdims=True), out=Z)
                np.exp(Z, out=Z)
                Z /= Z.sum(axis=1, keepdims=True)
                onehot = (y[:, None] == np.arange(theta.shape[1])).astype(Z.dtype)
                B = len(y)
                return X.T @ Z / B - X.T @ onehot / B
        """,
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                i = 0
                while i < len(y):
                    j = min(i + batch, len(y))
                    np.add(theta, -lr * softmax_regression_grad(X[i:j], y[i:j], theta), out=theta)
                    i = j
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # d2l.ai: softmax via exp/partition after a max shift, y_hat[range(len(y_hat)), y], and a
    # d2l sgd helper fed the summed gradient with batch_size = the actual batch.
    "d2l_style_softmax_and_sgd": {
        "softmax_loss": """
            def softmax(X):
                X = X - X.max(axis=1, keepdims=True)
                X_exp = np.exp(X)
                partition = X_exp.sum(1, keepdims=True)
                return X_exp / partition


            def softmax_loss(Z, y):
                Z = Z - Z.max(axis=1, keepdims=True)
                log_partition = np.log(np.exp(Z).sum(1))
                return float((log_partition - Z[range(len(Z)), y]).mean())
        """,
        "softmax_regression_epoch": """
            def sgd(params, grads, lr, batch_size):
                for param, grad in zip(params, grads):
                    param -= lr * grad / batch_size


            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for i in range(0, len(X), batch):
                    X_b, y_b = X[i:i + batch], y[i:i + batch]
                    y_hat = softmax(X_b @ theta)
                    y_hat[range(len(y_hat)), y_b] -= 1
                    sgd([theta], [X_b.T @ y_hat], lr, len(X_b))
        """,
    },
    # CS231n softmax_loss(x, y) -> (loss, dx) reused for both the loss and the gradient.
    "cs231n_softmax_loss_with_dx": {
        "softmax_loss": """
            def cs231n_softmax_loss(x, y):
                shifted_logits = x - np.max(x, axis=1, keepdims=True)
                Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
                log_probs = shifted_logits - np.log(Z)
                probs = np.exp(log_probs)
                N = x.shape[0]
                loss = -np.sum(log_probs[np.arange(N), y]) / N
                dx = probs.copy()
                dx[np.arange(N), y] -= 1
                dx /= N
                return loss, dx


            def softmax_loss(Z, y):
                loss, _ = cs231n_softmax_loss(Z, y)
                return float(loss)
        """,
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                _, dscores = cs231n_softmax_loss(X.dot(theta), y)
                return X.T.dot(dscores)
        """,
    },
    # ChatGPT-style: type hints, docstrings, shape asserts that the notebook's contract implies,
    # and the Stack Overflow log-sum-exp with a squeezed max.
    "typed_asserts_that_hold": {
        "softmax_loss": """
            def softmax_loss(Z: np.ndarray, y: np.ndarray) -> float:
                \"\"\"Mean cross-entropy via log-sum-exp.\"\"\"
                assert Z.ndim == 2 and y.ndim == 1 and Z.shape[0] == y.shape[0], "shape mismatch"
                assert np.issubdtype(y.dtype, np.integer), "labels must be integers"
                m = np.max(Z, axis=1)
                lse = m + np.log(np.sum(np.exp(Z - m[:, None]), axis=1))
                return float(np.mean(lse - Z[np.arange(Z.shape[0]), y]))
        """,
        "parse_mnist": """
            def parse_mnist(image_filename: str, label_filename: str) -> "tuple[np.ndarray, np.ndarray]":
                with gzip.open(image_filename, "rb") as f:
                    data = f.read()
                magic, n, rows, cols = struct.unpack(">IIII", data[:16])
                if magic != 2051:
                    raise ValueError(f"bad magic {magic} in {image_filename}")
                images = np.frombuffer(data, dtype=np.uint8, offset=16)
                if images.size != n * rows * cols:
                    raise ValueError("image file truncated or too long")
                with gzip.open(label_filename, "rb") as f:
                    data = f.read()
                magic, m = struct.unpack(">II", data[:8])
                if magic != 2049:
                    raise ValueError(f"bad magic {magic} in {label_filename}")
                labels = np.frombuffer(data, dtype=np.uint8, offset=8)
                if labels.size != m or m != n:
                    raise ValueError("label count does not match")
                X = images.reshape(n, rows * cols).astype(np.float32) / 255.0
                assert X.dtype == np.float32 and X.shape == (n, 784)
                return X, labels.copy()
        """,
    },
    # More: int.from_bytes, take_along_axis, a boolean one-hot with einsum.
    # The header fields by int.from_bytes(..., "big") on slices of the decompressed bytes.
    "parse_int_from_bytes_header": {
        "parse_mnist": """
            def parse_mnist(image_filename, label_filename):
                with gzip.open(image_filename) as f:
                    data = f.read()
                magic, n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in range(0, 16, 4))
                if magic != 2051 or len(data) - 16 != n * rows * cols:
                    raise ValueError(f"{image_filename} is not an IDX file of {n} {rows}x{cols} images")
                X = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, -1) / np.float32(255)
                with gzip.open(label_filename) as f:
                    data = f.read()
                magic, m = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
                if magic != 2049 or len(data) - 8 != m or m != n:
                    raise ValueError(f"{label_filename} does not hold {n} labels")
                return X.astype(np.float32), np.frombuffer(data, dtype=np.uint8, offset=8).copy()
        """,
    },
    # The true-class logits by np.take_along_axis with uint8 labels as a column of indices.
    "loss_take_along_axis": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                m = np.max(Z, axis=1, keepdims=True)
                lse = m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True))
                z_y = np.take_along_axis(Z, y[:, None].astype(np.intp), axis=1)
                return float(np.mean(lse - z_y))
        """,
    },
    # A boolean one-hot (y[:, None] == arange(k)) subtracted from the softmax, the sum of outer
    # products by np.einsum.
    "grad_bool_one_hot_einsum": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                Z = np.einsum("bn,nk->bk", X, theta)
                E = np.exp(Z - Z.max(axis=1, keepdims=True))
                S = E / E.sum(axis=1, keepdims=True)
                one_hot = y[:, None] == np.arange(theta.shape[1])
                return np.einsum("bn,bk->nk", X, S - one_hot) / len(y)
        """,
    },
    # More: float64 kept inside, reductions by functools, generators.
    # The epoch in a float64 copy of theta and X, written back into the caller's theta.
    "epoch_float64_copy_written_back": {
        "softmax_regression_epoch": """
            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                t = theta.astype(np.float64)
                X64 = X.astype(np.float64)
                for i in range(0, len(X), batch):
                    t -= lr * softmax_regression_grad(X64[i:i + batch], y[i:i + batch], t)
                theta[...] = t
        """,
    },
    # The log-sum-exp by folding np.logaddexp over the columns (functools.reduce).
    "loss_logaddexp_folded_over_columns": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                from functools import reduce

                lse = reduce(np.logaddexp, Z.T)
                return float(np.mean(lse - Z[np.arange(len(y)), y]))
        """,
    },
    # Float64 einsums whatever the inputs, the gradient cast to the inputs' dtype at the end.
    "grad_float64_einsum_cast_back": {
        "softmax_regression_grad": """
            def softmax_regression_grad(X, y, theta):
                dtype = np.result_type(X, theta)
                X64 = X.astype(np.float64)
                Z = np.einsum("bn,nk->bk", X64, theta.astype(np.float64))
                Z -= Z.max(axis=1, keepdims=True)
                S = np.exp(Z)
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(len(y)), y] -= 1
                return (np.einsum("bn,bk->nk", X64, S) / len(y)).astype(dtype)
        """,
    },
    # Minibatch slices from a generator; the step by np.subtract(out=theta).
    "epoch_generator_of_slices": {
        "softmax_regression_epoch": """
            def minibatches(n, size):
                for start in range(0, n, size):
                    yield slice(start, start + size)


            def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
                for s in minibatches(len(y), batch):
                    np.subtract(theta, lr * softmax_regression_grad(X[s], y[s], theta), out=theta)
        """,
    },
    # log1p of the sum of the other terms (the row maximum's own term is exactly 1).
    "loss_log1p_of_the_other_terms": {
        "softmax_loss": """
            def softmax_loss(Z, y):
                m = Z.max(axis=1)
                others = np.exp(Z - m[:, None]).sum(axis=1) - 1.0
                return float(np.mean(m + np.log1p(others) - Z[np.arange(len(y)), y]))
        """,
    },
}
