"""Homework 2's variants (see dlhw.autograder.variants): realistic bugs that must lose points and
correct-but-unusual solutions that must keep full marks. tests/test_homeworks.py grades each."""

# The reference's two_layer_grads, to be varied one line at a time below.
GRADS = """
def two_layer_grads(X, y, W1, W2):
    B = X.shape[0]
    Z1 = X @ W1
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ W2
    S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    S[np.arange(B), y] -= 1
    G2 = S / B
    dW2 = A1.T @ G2
    G1 = (G2 @ W2.T) * (Z1 > 0)
    dW1 = X.T @ G1
    return dW1, dW2
"""


def grads(old: str, new: str) -> dict[str, str]:
    """The reference's two_layer_grads with one line changed."""
    assert GRADS.count(old) == 1, old
    return {"two_layer_grads": GRADS.replace(old, new)}


# The reference's nn_epoch, likewise.
EPOCH = """
def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
    for start in range(0, X.shape[0], batch):
        dW1, dW2 = two_layer_grads(X[start:start + batch], y[start:start + batch], W1, W2)
        W1 -= lr * dW1
        W2 -= lr * dW2
"""


def epoch(old: str, new: str) -> dict[str, str]:
    assert EPOCH.count(old) == 1, old
    return {"nn_epoch": EPOCH.replace(old, new)}


BUGS = {
    # ---- linear ----
    # The bias as a column (b.T is (d, 1)): broadcasting adds b[i] to row i. A shape error when
    # B != d, silently wrong values when B == d.
    "linear_bias_as_column": {
        "linear": """
            def linear(X, W, b):
                return X @ W + b.T
        """,
    },
    # torch.nn.Linear's convention (weights stored (out, in)) applied to the course's (in, out) W:
    # a shape error unless W is square, and then the wrong values.
    "linear_torch_weight_convention": {
        "linear": """
            def linear(X, W, b):
                return X @ W.T + b
        """,
    },
    # ---- relu ----
    # abs instead of max: negatives come out positive.
    "relu_is_abs": {
        "relu": """
            def relu(Z):
                return np.abs(Z)
        """,
    },
    # In place: right values, but the caller's Z is overwritten (the notebook says leave it).
    "relu_modifies_its_input": {
        "relu": """
            def relu(Z):
                Z[Z < 0] = 0
                return Z
        """,
    },
    # max against a float64 array of zeros: float32 input comes back float64.
    "relu_returns_float64": {
        "relu": """
            def relu(Z):
                return np.maximum(Z, np.zeros(Z.shape))
        """,
    },
    # ---- two_layer_forward ----
    # The nonlinearity forgotten: a linear model, relu never applied.
    "forward_without_relu": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return X @ W1 @ W2
        """,
    },
    # ReLU applied to the logits too: negative logits are clipped.
    "forward_relu_on_logits": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return relu(relu(X @ W1) @ W2)
        """,
    },
    # ---- two_layer_grads ----
    # The ReLU's backward passes gradient where the input is exactly 0 (derivative 1 at 0).
    "grads_relu_backward_at_zero": grads("(Z1 > 0)", "(Z1 >= 0)"),
    # The ReLU's backward forgotten: gradient passes where the input is negative too.
    "grads_relu_backward_missing": grads("G1 = (G2 @ W2.T) * (Z1 > 0)", "G1 = G2 @ W2.T"),
    # Multiplying by the activation instead of by its derivative.
    "grads_relu_backward_times_activation": grads("(G2 @ W2.T) * (Z1 > 0)", "(G2 @ W2.T) * A1"),
    # W2's gradient with the pre-activation Z1 instead of the ReLU's output A1.
    "grads_w2_from_pre_activation": grads("dW2 = A1.T @ G2", "dW2 = Z1.T @ G2"),
    # The gradient of the summed loss: no 1/B.
    "grads_missing_mean": grads("G2 = S / B", "G2 = S"),
    # The 1/B applied twice (once in G2, once more in dW1).
    "grads_mean_twice_for_w1": grads("dW1 = X.T @ G1", "dW1 = X.T @ G1 / B"),
    # I_y - S: gradient ascent.
    "grads_sign_flipped": grads("G2 = S / B", "G2 = -S / B"),
    # No max-shift: exp overflows for logits in the hundreds.
    "grads_softmax_without_max_shift": grads(
        "S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))", "S = np.exp(Z2)"
    ),
    # The one-hot matrix sized by the labels present (y.max() + 1), not by k: a shape error
    # whenever the batch lacks the last class.
    "grads_one_hot_sized_by_labels": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                Z1 = X @ W1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                G2 = (S - np.eye(int(y.max()) + 1)[y]) / X.shape[0]
                return X.T @ ((G2 @ W2.T) * (Z1 > 0)), A1.T @ G2
        """,
    },
    # Ten classes hard-coded (MNIST's): wrong for any other k.
    "grads_hard_coded_ten_classes": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                Z1 = X @ W1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                G2 = (S - np.eye(10)[y]) / X.shape[0]
                return X.T @ ((G2 @ W2.T) * (Z1 > 0)), A1.T @ G2
        """,
    },
    # The max-shift taken over the batch (axis 0): a different constant per class changes the
    # softmax.
    "grads_max_shift_over_batch": grads(
        "Z2 - Z2.max(axis=1, keepdims=True)", "Z2 - Z2.max(axis=0, keepdims=True)"
    ),
    # The pair returned in the wrong order.
    "grads_returned_swapped": grads("return dW1, dW2", "return dW2, dW1"),
    # ---- nn_epoch ----
    # Every step uses the whole data set's gradient: full-batch descent, not minibatch SGD.
    "epoch_full_batch_gradient": epoch(
        "two_layer_grads(X[start:start + batch], y[start:start + batch], W1, W2)",
        "two_layer_grads(X, y, W1, W2)",
    ),
    # The last, smaller minibatch is dropped.
    "epoch_drops_last_batch": epoch(
        "range(0, X.shape[0], batch)", "range(0, X.shape[0] - batch + 1, batch)"
    ),
    # W2 rebound to a new array: the caller's W2 never changes (W1 is updated in place).
    "epoch_w2_not_in_place": epoch("W2 -= lr * dW2", "W2 = W2 - lr * dW2"),
    # Both rebound; the epoch returns the new weights instead.
    "epoch_returns_new_weights": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[start:start + batch], y[start:start + batch], W1, W2)
                    W1 = W1 - lr * dW1
                    W2 = W2 - lr * dW2
                return W1, W2
        """,
    },
    # W2's gradient taken after W1 was already updated (two calls, sequential updates).
    "epoch_w2_gradient_after_w1_step": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    Xb, yb = X[start:start + batch], y[start:start + batch]
                    W1 -= lr * two_layer_grads(Xb, yb, W1, W2)[0]
                    W2 -= lr * two_layer_grads(Xb, yb, W1, W2)[1]
        """,
    },
    # Shuffled minibatches ("stochastic"): not the order the homework asks for.
    "epoch_shuffles": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                order = np.random.permutation(X.shape[0])
                X, y = X[order], y[order]
                for start in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[start:start + batch], y[start:start + batch], W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # The learning rate hard-coded.
    "epoch_ignores_lr": epoch("W1 -= lr * dW1", "W1 -= 0.1 * dW1"),
    # 1/B applied by scaling the minibatch in place: right gradients, but X (the caller's training
    # data, of which every minibatch is a view) shrinks by 1/B at every step.
    "grads_scale_x_in_place": grads(
        "G2 = S / B\n    dW2 = A1.T @ G2\n    G1 = (G2 @ W2.T) * (Z1 > 0)\n    dW1 = X.T @ G1",
        "dW2 = A1.T @ S / B\n    G1 = (S @ W2.T) * (Z1 > 0)\n    X /= B\n    dW1 = X.T @ G1",
    ),
    # Computed in float32 whatever the inputs: float64 answers only ~1e-6 right (the notebook
    # asks for float64 arithmetic on float64 inputs).
    "grads_cast_to_float32": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                X, W1f, W2f = (a.astype(np.float32) for a in (X, W1, W2))
                Z1 = X @ W1f
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2f
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(len(y)), y] -= 1
                G2 = S / len(y)
                dW1 = X.T @ ((G2 @ W2f.T) * (Z1 > 0))
                return dW1.astype(W1.dtype), (A1.T @ G2).astype(W2.dtype)
        """,
    },
    # The max-shift by the batch's largest logit: rows far below it underflow to 0 / 0.
    "grads_shift_by_global_max": grads("Z2 - Z2.max(axis=1, keepdims=True)", "Z2 - Z2.max()"),
    # X.T @ (G2 @ W2.T) * mask: the mask applied after the product (a shape error unless B == 1
    # or B == n; a mask reduced to (d,) to make it fit is wrong for B > 1).
    "grads_mask_after_the_product": grads(
        "G1 = (G2 @ W2.T) * (Z1 > 0)\n    dW1 = X.T @ G1",
        "dW1 = X.T @ (G2 @ W2.T) * (Z1 > 0).any(axis=0)",
    ),
    # The ReLU applied to the gradient instead of its mask.
    "grads_relu_of_the_gradient": grads(
        "G1 = (G2 @ W2.T) * (Z1 > 0)", "G1 = np.maximum(G2 @ W2.T, 0)"
    ),
    # np.array_split into ceil(N / batch) pieces: near-equal sizes (9, 9, 9, 8, 8), not X[i:i + batch].
    "epoch_array_split_into_equal_pieces": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                k = int(np.ceil(len(X) / batch))
                for Xb, yb in zip(np.array_split(X, k), np.array_split(y, k)):
                    dW1, dW2 = two_layer_grads(Xb, yb, W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # The layer's output cast to float32 (a habit from training code): only rounded (<= 6e-8
    # relative, within RTOL64), but float64 inputs must give float64 results.
    "linear_result_cast_to_float32": {
        "linear": """
            def linear(X, W, b):
                return (X @ W + b).astype(np.float32)
        """,
    },
    # The logits cast to float32, likewise.
    "forward_result_cast_to_float32": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return (relu(X @ W1) @ W2).astype(np.float32)
        """,
    },
    # Both gradients cast to float32 at the end, likewise (before, only the epochs noticed).
    "grads_results_cast_to_float32": grads(
        "return dW1, dW2", "return dW1.astype(np.float32), dW2.astype(np.float32)"
    ),
    # The ReLU's derivative at 0 taken as 1/2 (np.heaviside(Z1, 0.5)), not the notebook's 0.
    "grads_relu_derivative_half_at_zero": grads("(Z1 > 0)", "np.heaviside(Z1, 0.5)"),
    # The 1/B applied to dW2 only: dW1 is the summed loss's gradient.
    "grads_mean_only_for_w2": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B = X.shape[0]
                Z1 = X @ W1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(B), y] -= 1
                G2 = S
                dW2 = A1.T @ G2 / B
                G1 = (G2 @ W2.T) * (Z1 > 0)
                dW1 = X.T @ G1
                return dW1, dW2
        """,
    },
    # B hard-coded as the default minibatch size 100: right only for batches of 100.
    "grads_batch_size_hard_coded": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B = 100
                Z1 = X @ W1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(B), y] -= 1
                G2 = S / B
                dW2 = A1.T @ G2
                G1 = (G2 @ W2.T) * (Z1 > 0)
                dW1 = X.T @ G1
                return dW1, dW2
        """,
    },
    # Gradients of the summed loss, divided by `batch` in the epoch: wrong for the last, smaller
    # minibatch, and two_layer_grads itself is off by B.
    "epoch_divides_by_the_nominal_batch": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B = X.shape[0]
                Z1 = X @ W1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(B), y] -= 1
                G2 = S
                dW2 = A1.T @ G2
                G1 = (G2 @ W2.T) * (Z1 > 0)
                dW1 = X.T @ G1
                return dW1, dW2
        """,
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for s in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[s:s + batch], y[s:s + batch], W1, W2)
                    W1 -= lr * dW1 / batch
                    W2 -= lr * dW2 / batch
        """,
    },
    # np.vectorize of a Python max: float32 input comes back float64 (vectorize's output type comes
    # from the first result, a Python float).
    "relu_np_vectorize": {
        "relu": """
            def relu(Z):
                return np.vectorize(lambda z: max(z, 0.0))(Z)
        """,
    },
    # S - I_y through flat indices computed in the labels' dtype: uint8 wraps past 255 (B * k >
    # 255).
    "grads_flat_index_in_the_labels_dtype": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for s in range(0, X.shape[0], batch):
                    yb = y[s:s + batch]
                    dW1, dW2 = two_layer_grads(X[s:s + batch], yb, W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B = X.shape[0]
                Z1 = X @ W1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S /= S.sum(axis=1, keepdims=True)
                S.ravel()[(np.arange(B, dtype=y.dtype) * S.shape[1] + y)] -= 1
                G2 = S / B
                dW2 = A1.T @ G2
                G1 = (G2 @ W2.T) * (Z1 > 0)
                dW1 = X.T @ G1
                return dW1, dW2
        """,
    },
    # The weights stashed in a mutable default argument on the first call: every later call (another
    # network) steps with the first call's arrays.
    "epoch_weights_kept_in_a_mutable_default": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100, _state={}):
                if "W1" not in _state:
                    _state["W1"], _state["W2"] = W1, W2
                for s in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[s:s + batch], y[s:s + batch], _state["W1"], _state["W2"])
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # ChatGPT-style guard: relu only for matrices (the notebook: "an array Z of any shape").
    "relu_asserts_2d": {
        "relu": """
            def relu(Z: np.ndarray) -> np.ndarray:
                \"\"\"Elementwise ReLU.\"\"\"
                assert Z.ndim == 2, f"expected a 2-D array, got shape {Z.shape}"
                return np.maximum(Z, 0)
        """,
    },
    # ChatGPT: the bias checked as PyTorch's 1-D (d,) vector; the notebook's bias is (1, d).
    "linear_asserts_torch_bias_shape": {
        "linear": """
            def linear(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
                \"\"\"Affine layer y = XW + b.\"\"\"
                assert X.shape[1] == W.shape[0], "inner dimensions must agree"
                assert b.shape == (W.shape[1],), f"bias must have shape ({W.shape[1]},), got {b.shape}"
                return X @ W + b
        """,
    },
    # More: copies and views, makemore and CS231n habits, slicing typos.
    # A = Z[:] taken for a copy (it copies a Python list), but a NumPy slice is a view: zeroing
    # its negatives zeroes the caller's Z.
    "relu_slice_taken_for_a_copy": {
        "relu": """
            def relu(Z):
                A = Z[:]  # copy, so Z is left alone
                A[A < 0] = 0
                return A
        """,
    },
    # S - I_y written S[:, y] -= 1: every row loses 1 in each column that is some example's label.
    "grads_label_columns_for_every_row": grads("S[np.arange(B), y] -= 1", "S[:, y] -= 1"),
    # The softmax normalised by the sum over the whole batch (np.sum without axis).
    "grads_softmax_normalised_over_the_batch": grads(
        "S /= S.sum(axis=1, keepdims=True)", "S /= np.sum(S)"
    ),
    # makemore's "backprop ninja" chain (Karpathy): through logprobs = log(probs), dprobs =
    # dlogprobs / probs. Right for moderate logits, but where the true class's probability
    # underflows to 0 (logits in the thousands), 0 * inf gives nan.
    "grads_makemore_chain_through_log_probs": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                n = X.shape[0]
                hpreact = X @ W1
                h = np.maximum(hpreact, 0)
                logits = h @ W2
                logit_maxes = logits.max(1, keepdims=True)
                norm_logits = logits - logit_maxes
                counts = np.exp(norm_logits)
                counts_sum = counts.sum(1, keepdims=True)
                counts_sum_inv = counts_sum**-1
                probs = counts * counts_sum_inv
                with np.errstate(divide="ignore"):
                    logprobs = np.log(probs)
                # loss = -logprobs[range(n), y].mean()
                dlogprobs = np.zeros_like(logprobs)
                dlogprobs[range(n), y] = -1.0 / n
                with np.errstate(divide="ignore", invalid="ignore"):
                    dprobs = (1.0 / probs) * dlogprobs
                    dcounts_sum_inv = (counts * dprobs).sum(1, keepdims=True)
                    dcounts = counts_sum_inv * dprobs
                dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
                dcounts += np.ones_like(counts) * dcounts_sum
                dnorm_logits = counts * dcounts
                dlogits = dnorm_logits.copy()
                dlogit_maxes = (-dnorm_logits).sum(1, keepdims=True)
                dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes
                dh = dlogits @ W2.T
                dW2 = h.T @ dlogits
                dhpreact = (hpreact > 0) * dh
                dW1 = X.T @ dhpreact
                return dW1, dW2
        """,
    },
    # for i in range(0, N, batch): X[i:batch] (a slice to `batch`, not to i + batch): the first
    # minibatch, then empty ones, whose gradients are zero.
    "epoch_slice_ends_at_batch": epoch(
        "X[start:start + batch], y[start:start + batch]", "X[start:batch], y[start:batch]"
    ),
    # CS231n's L2 regularisation kept in the update with its usual strength, reg = 1e-3: the
    # homework's loss has none.
    "epoch_with_cs231n_weight_decay": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100, reg=1e-3):
                for start in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[start:start + batch], y[start:start + batch], W1, W2)
                    dW1 += reg * W1
                    dW2 += reg * W2
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # Updated in place, and the weights returned as well ("so the caller can use them"): the
    # notebook asks for None.
    "epoch_in_place_and_returns_weights": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for start in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[start:start + batch], y[start:start + batch], W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
                return W1, W2
        """,
    },
    # More: float32 inside for float64 inputs (results upcast or cast back), and others.
    # The product in float32, upcast again by the float64 bias: ~1e-7 off on centred inputs,
    # where one entry in 63 gave it away; uncentred inputs show it.
    "linear_product_in_float32": {
        "linear": """
            def linear(X, W, b):
                return X.astype(np.float32) @ W.astype(np.float32) + b
        """,
    },
    # Everything in float32, cast back to the inputs' dtype: the right dtype (before, the one
    # test that noticed did so by 1%: relative error 1.01e-7 against rtol 1e-7).
    "linear_in_float32_cast_back": {
        "linear": """
            def linear(X, W, b):
                Xf, Wf, bf = (a.astype(np.float32) for a in (X, W, b))
                return (Xf @ Wf + bf).astype(X.dtype)
        """,
    },
    # The hidden activations kept in float32 "to save memory": logits upcast by W2.
    "forward_hidden_layer_in_float32": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                A1 = relu(X @ W1).astype(np.float32)
                return A1 @ W2
        """,
    },
    # The first layer in float32 only.
    "forward_first_layer_in_float32": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return relu(X.astype(np.float32) @ W1.astype(np.float32)) @ W2
        """,
    },
    # The softmax of the network, not its logits (the loss function's input).
    "forward_returns_probabilities": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                Z2 = relu(X @ W1) @ W2
                P = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                return P / P.sum(axis=1, keepdims=True)
        """,
    },
    # The softmax in float32 (upcast again by A1 and W2).
    "grads_softmax_in_float32": grads(
        "S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))",
        "S = np.exp(Z2 - Z2.max(axis=1, keepdims=True)).astype(np.float32)",
    ),
    # The activations in float32.
    "grads_hidden_in_float32": grads(
        "A1 = np.maximum(Z1, 0)", "A1 = np.maximum(Z1, 0).astype(np.float32)"
    ),
    # dW2 from S, before the 1/B (a line written before G2 was).
    "grads_dw2_before_the_mean": grads("dW2 = A1.T @ G2", "dW2 = A1.T @ S"),
    # A leaky ReLU's derivative (0.01 where Z1 <= 0) in the backward pass only.
    "grads_leaky_relu_backward": grads("(Z1 > 0)", "np.where(Z1 > 0, 1.0, 0.01)"),
    # The gradient divided by the batch size once more in the step.
    "epoch_step_divided_by_batch_again": epoch(
        "W1 -= lr * dW1", "W1 -= lr * dW1 / len(X[start:start + batch])"
    ),
    # The minibatches taken from the end (the smaller one first).
    "epoch_batches_from_the_end": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for stop in range(X.shape[0], 0, -batch):
                    start = max(stop - batch, 0)
                    dW1, dW2 = two_layer_grads(X[start:stop], y[start:stop], W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # W2's step rounded to float32: float64 weights moved by float32 steps.
    "epoch_w2_step_in_float32": epoch("W2 -= lr * dW2", "W2 -= (lr * dW2).astype(np.float32)"),
    # A leaky ReLU (slope 0.01), the "better ReLU" of many tutorials.
    "relu_leaky": {
        "relu": """
            def relu(Z):
                return np.where(Z > 0, Z, 0.01 * Z)
        """,
    },
    # An unseen class's (helper-written from the stub alone; earlier ones did not include these).
    # (Z + |Z|) without the halving: positives doubled.
    "relu_plus_abs_not_halved": {
        "relu": """
            def relu(Z):
                return Z + np.abs(Z)
        """,
    },
    # The bias summed to one number "so that it broadcasts": every output gets sum(b).
    "linear_bias_summed_to_a_scalar": {
        "linear": """
            def linear(X, W, b):
                return X @ W + np.sum(b)
        """,
    },
    # np.squeeze "to tidy the shape": a batch of one comes back as a 1-D row.
    "linear_result_squeezed": {
        "linear": """
            def linear(X, W, b):
                return np.squeeze(X @ W + b)
        """,
    },
    # range(0, N - batch, batch): the last minibatch, full or not, is always skipped.
    "epoch_range_stops_one_batch_early": epoch(
        "range(0, X.shape[0], batch)", "range(0, X.shape[0] - batch, batch)"
    ),
    # Both matrices rebound (W = W - ...), nothing returned: the caller's weights never move.
    "epoch_both_rebound": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for i in range(0, X.shape[0], batch):
                    dW1, dW2 = two_layer_grads(X[i : i + batch], y[i : i + batch], W1, W2)
                    W1 = W1 - lr * dW1
                    W2 = W2 - lr * dW2
        """,
    },
    # The mean taken over the k classes (Z2.shape[1]) instead of the B examples.
    "grads_mean_over_classes": grads("G2 = S / B", "G2 = S / Z2.shape[1]"),
}

UNUSUAL = {
    # Python loops everywhere: per entry for linear, per example for the gradients.
    "loops": {
        "linear": """
            def linear(X, W, b):
                out = np.zeros((X.shape[0], W.shape[1]), dtype=np.result_type(X, W, b))
                for i in range(X.shape[0]):
                    for j in range(W.shape[1]):
                        out[i, j] = sum(X[i, m] * W[m, j] for m in range(X.shape[1])) + b[0, j]
                return out
        """,
        "relu": """
            def relu(Z):
                out = [z if z > 0 else 0.0 for z in Z.ravel()]
                return np.array(out, dtype=Z.dtype).reshape(Z.shape)
        """,
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                dW1, dW2 = np.zeros(W1.shape), np.zeros(W2.shape)
                for x, label in zip(X, y):
                    z1 = x @ W1
                    a1 = np.maximum(z1, 0)
                    z2 = a1 @ W2
                    p = np.exp(z2 - z2.max())
                    p /= p.sum()
                    p[label] -= 1
                    dW2 += np.outer(a1, p)
                    g1 = (W2 @ p) * (z1 > 0)
                    dW1 += np.outer(x, g1)
                return dW1 / len(y), dW2 / len(y)
        """,
    },
    # float64 inside, one-hot matrix, log-softmax, mask from the activation (A1 > 0), einsum.
    "float64_one_hot_log_softmax": {
        "linear": """
            def linear(X, W, b):
                return np.einsum("bn,nd->bd", X, W) + b
        """,
        "relu": """
            def relu(Z):
                return Z * (Z > 0)
        """,
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return np.dot(np.clip(np.dot(X, W1), 0, None), W2)
        """,
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                X64, W1_64, W2_64 = (np.asarray(a, dtype=np.float64) for a in (X, W1, W2))
                A1 = relu(X64 @ W1_64)
                Z2 = A1 @ W2_64
                log_p = Z2 - Z2.max(axis=1, keepdims=True)
                log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
                one_hot = np.eye(W2.shape[1])[y]
                G2 = (np.exp(log_p) - one_hot) / len(y)
                dW1 = X64.T @ ((G2 @ W2_64.T) * (A1 > 0))
                return dW1.astype(W1.dtype), (A1.T @ G2).astype(W2.dtype)
        """,
    },
    # Heaviside step with value 0 at 0 for the mask; minibatches by index arrays; updates with
    # np.subtract(out=) and slice assignment; a helper defined inside the epoch.
    "heaviside_index_batches_slice_updates": {
        "two_layer_grads": GRADS.replace("(Z1 > 0)", "np.heaviside(Z1, 0.0)"),
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                def step(W, dW):
                    np.subtract(W, lr * dW, out=W)

                n_batches = -(-X.shape[0] // batch)
                for i in range(n_batches):
                    idx = np.arange(i * batch, min((i + 1) * batch, X.shape[0]))
                    dW1, dW2 = two_layer_grads(X[idx], y[idx], W1, W2)
                    step(W1, dW1)
                    W2[:] = W2 - lr * dW2
        """,
    },
    # The forward pass reused inside the gradients via linear() with a zero bias; the
    # epoch written as a while loop.
    "reuse_linear_and_while_loop": {
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                zero = lambda d: np.zeros((1, d), dtype=W1.dtype)
                return linear(relu(linear(X, W1, zero(W1.shape[1]))), W2, zero(W2.shape[1]))
        """,
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                start = 0
                while start < len(X):
                    stop = min(start + batch, len(X))
                    grads = two_layer_grads(X[start:stop], y[start:stop], W1, W2)
                    for W, dW in zip((W1, W2), grads):
                        W -= lr * dW
                    start = stop
                return None
        """,
    },
    # relu as a lambda; linear with np.add and the bias flattened to (d,).
    "lambda_relu_flat_bias": {
        "relu": "relu = lambda Z: np.maximum(Z, 0)",
        "linear": """
            def linear(X, W, b):
                return np.add(np.matmul(X, W), b.ravel())
        """,
    },
    # The layer written transposed, (W^T X^T + b^T)^T.
    "linear_transposed_algebra": {
        "linear": """
            def linear(X, W, b):
                return (W.T @ X.T + b.T).T
        """,
    },
    # A small class with a forward cache and a backward method.
    "grads_by_a_cached_network_class": {
        "two_layer_grads": """
            class _Net:
                def __init__(self, W1, W2):
                    self.W1, self.W2, self.cache = W1, W2, {}

                def forward(self, X):
                    self.cache["X"] = X
                    self.cache["Z1"] = Z1 = X @ self.W1
                    self.cache["A1"] = A1 = relu(Z1)
                    return A1 @ self.W2

                def backward(self, G2):
                    c = self.cache
                    return c["X"].T @ ((G2 @ self.W2.T) * (c["Z1"] > 0)), c["A1"].T @ G2

            def two_layer_grads(X, y, W1, W2):
                net = _Net(W1, W2)
                Z2 = net.forward(X)
                P = np.exp(Z2 - Z2.max(1)[:, None])
                P /= P.sum(1)[:, None]
                P[np.arange(len(y)), y.astype(int)] -= 1
                return net.backward(P / len(y))
        """,
    },
    # Local copies rebound at every step, written into the caller's arrays at the end.
    "epoch_local_copies_written_back": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                w1, w2 = W1.copy(), W2.copy()
                for i in range(0, len(X), batch):
                    g1, g2 = two_layer_grads(X[i:i + batch], y[i:i + batch], w1, w2)
                    w1, w2 = w1 - lr * g1, w2 - lr * g2
                W1[...] = w1
                W2[...] = w2
        """,
    },
    # Minibatches from a generator function; gradients in float64, cast back for the update.
    "epoch_batches_from_a_generator": {
        "nn_epoch": """
            def _batches(X, y, size):
                for i in range(0, len(y), size):
                    yield X[i:i + size], y[i:i + size]

            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for Xb, yb in _batches(X, y, batch):
                    d1, d2 = two_layer_grads(Xb.astype(np.float64), yb.astype(np.int64), W1, W2)
                    W1 -= (lr * d1).astype(W1.dtype)
                    W2 -= (lr * d2).astype(W2.dtype)
        """,
    },
    # The bias trick: a column of ones appended to X, b appended to W as its last row.
    "linear_bias_trick": {
        "linear": """
            def linear(X, W, b):
                ones = np.ones((X.shape[0], 1), dtype=X.dtype)
                return np.hstack([X, ones]) @ np.vstack([W, b])
        """,
    },
    # relu as (Z + |Z|) / 2.
    "relu_half_of_z_plus_abs": {
        "relu": """
            def relu(Z):
                return (Z + np.abs(Z)) / 2
        """,
    },
    # The ReLU's mask as np.sign of the activation: 0 where it is 0, 1 where positive.
    "grads_mask_sign_of_activation": grads("(Z1 > 0)", "np.sign(A1)"),
    # np.subtract.at for S - I_y, einsum for every product.
    "grads_subtract_at_einsum": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                Z1 = np.einsum("bn,nd->bd", X, W1)
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2
                G = np.exp(Z2 - Z2.max(axis=1)[:, None])
                G /= G.sum(axis=1)[:, None]
                np.subtract.at(G, (np.arange(len(y)), y), 1)
                G /= len(y)
                dW2 = np.einsum("bd,bk->dk", A1, G)
                dW1 = np.einsum("bn,bd->nd", X, (G @ W2.T) * (Z1 > 0))
                return dW1, dW2
        """,
    },
    # Minibatches as index groups: np.split of arange(N) at the batch boundaries.
    "epoch_np_split_index_groups": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for idx in np.split(np.arange(len(X)), np.arange(batch, len(X), batch)):
                    dW1, dW2 = two_layer_grads(X[idx], y[idx], W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # np.tensordot for the layer, np.fmax against a 0-d zero of Z's dtype, np.linalg.multi_dot for
    # the logits.
    "tensordot_fmax_multi_dot": {
        "linear": """
            def linear(X, W, b):
                return np.tensordot(X, W, axes=([1], [0])) + b
        """,
        "relu": """
            def relu(Z):
                return np.fmax(Z, np.zeros((), dtype=Z.dtype))
        """,
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return np.linalg.multi_dot([relu(np.dot(X, W1)), W2])
        """,
    },
    # relu by np.where(Z > 0, Z, 0) (NumPy 2 keeps float32), the forward pass a functools.reduce
    # over a list of layers.
    "forward_by_functools_reduce": {
        "relu": """
            def relu(Z):
                return np.where(Z > 0, Z, 0)
        """,
        "two_layer_forward": """
            import functools
            def two_layer_forward(X, W1, W2):
                layers = [lambda A: A @ W1, relu, lambda A: A @ W2]
                return functools.reduce(lambda A, f: f(A), layers, X)
        """,
    },
    # Softmax through np.logaddexp.reduce, S - I_y through flat indices (int64), each gradient
    # computed transposed and transposed back.
    "grads_logaddexp_flat_index_transposed_products": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B, k = X.shape[0], W2.shape[1]
                Z1 = np.dot(X, W1)
                A1 = Z1.copy()
                A1[A1 < 0] = 0
                Z2 = np.dot(A1, W2)
                lse = np.logaddexp.reduce(Z2, axis=1, keepdims=True)
                P = np.exp(Z2 - lse)
                P.ravel()[np.arange(B) * k + y] -= 1
                P /= B
                dW2 = np.dot(P.T, A1).T
                dW1 = ((P @ W2.T * (A1 > 0)).T @ X).T
                return dW1, dW2
        """,
    },
    # Every intermediate overwritten in place in its own buffer (Z1 becomes A1, Z2 becomes the
    # softmax and then G2), the mask taken first.
    "grads_reuse_buffers_in_place": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B = len(y)
                Z1 = X @ W1
                mask = Z1 > 0
                np.maximum(Z1, 0, out=Z1)          # Z1 now holds A1
                Z2 = Z1 @ W2
                Z2 -= Z2.max(axis=1, keepdims=True)
                np.exp(Z2, out=Z2)
                Z2 /= Z2.sum(axis=1, keepdims=True)
                Z2[np.arange(B), y] -= 1
                Z2 /= B
                dW2 = Z1.T @ Z2
                G1 = Z2 @ W2.T
                G1 *= mask
                return X.T @ G1, dW2
        """,
    },
    # The softmax row by row in Python floats with math.exp, the one-hot a boolean comparison.
    "grads_python_softmax_bool_one_hot": {
        "two_layer_grads": """
            import math
            def two_layer_grads(X, y, W1, W2):
                Z1 = X @ W1
                A1 = relu(Z1)
                Z2 = A1 @ W2
                rows = []
                for z in Z2.tolist():
                    m = max(z)
                    e = [math.exp(v - m) for v in z]
                    s = sum(e)
                    rows.append([v / s for v in e])
                P = np.array(rows, dtype=Z2.dtype)
                G2 = (P - (y[:, None] == np.arange(W2.shape[1]))) / len(y)
                return X.T @ (G2 @ W2.T * (Z1 > 0)), A1.T @ G2
        """,
    },
    # (N + batch) // batch minibatches, the empty one (when batch divides N) skipped.
    "epoch_extra_empty_batch_skipped": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for i in range((len(X) + batch) // batch):
                    Xb, yb = X[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
                    if len(yb) == 0:
                        continue
                    dW1, dW2 = two_layer_grads(Xb, yb, W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # The weights in a dict, passed by keyword, updated by key.
    "epoch_params_in_a_dict": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                params = {"W1": W1, "W2": W2}
                starts = list(range(0, X.shape[0], batch))
                for s in starts:
                    grads = dict(zip(("W1", "W2"), two_layer_grads(X[s:s + batch], y[s:s + batch], **params)))
                    for key in params:
                        params[key] -= lr * grads[key]
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # CS231n: layers as functions with cache tuples (affine_forward/backward, relu_forward/
    # backward with `dx[x <= 0] = 0`), softmax_loss returning (loss, dx), composed.
    "cs231n_layer_functions_with_caches": {
        "two_layer_grads": """
            def affine_forward(x, w):
                out = x.reshape(x.shape[0], -1).dot(w)
                cache = (x, w)
                return out, cache


            def affine_backward(dout, cache):
                x, w = cache
                dx = dout.dot(w.T).reshape(x.shape)
                dw = x.reshape(x.shape[0], -1).T.dot(dout)
                return dx, dw


            def relu_forward(x):
                out = np.maximum(0, x)
                cache = x
                return out, cache


            def relu_backward(dout, cache):
                dx, x = None, cache
                dx = dout.copy()
                dx[x <= 0] = 0
                return dx


            def affine_relu_forward(x, w):
                a, fc_cache = affine_forward(x, w)
                out, relu_cache = relu_forward(a)
                return out, (fc_cache, relu_cache)


            def affine_relu_backward(dout, cache):
                fc_cache, relu_cache = cache
                da = relu_backward(dout, relu_cache)
                return affine_backward(da, fc_cache)


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


            def two_layer_grads(X, y, W1, W2):
                grads = {}
                h1, cache1 = affine_relu_forward(X, W1)
                scores, cache2 = affine_forward(h1, W2)
                loss, dscores = cs231n_softmax_loss(scores, y)
                dh1, grads["W2"] = affine_backward(dscores, cache2)
                _, grads["W1"] = affine_relu_backward(dh1, cache1)
                return grads["W1"], grads["W2"]
        """,
        "linear": """
            def linear(X, W, b):
                out = X.reshape(X.shape[0], -1).dot(W) + b
                return out
        """,
    },
    # d2l.ai: net() as a composition, sgd helper over [W1, W2] with batch_size = len(batch)
    # fed summed gradients (the mean computed as sum / batch_size at the update).
    "d2l_sgd_over_params": {
        "nn_epoch": """
            def sgd(params, grads, lr, batch_size):
                for param, grad in zip(params, grads):
                    param -= lr * grad / batch_size


            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                num_examples = len(X)
                indices = list(range(num_examples))
                for i in range(0, num_examples, batch):
                    batch_indices = np.array(indices[i: min(i + batch, num_examples)])
                    X_b, y_b = X[batch_indices], y[batch_indices]
                    dW1, dW2 = two_layer_grads(X_b, y_b, W1, W2)
                    n_b = len(batch_indices)
                    sgd([W1, W2], [dW1 * n_b, dW2 * n_b], lr, n_b)
        """,
        "relu": """
            def relu(Z):
                return np.maximum(Z, np.zeros_like(Z))
        """,
    },
    # More: aliasing that happens to be harmless, CS231n and one-hot idioms.
    # The ReLU applied in place to Z1 itself (A1 = Z1, then its negatives zeroed): Z1 is
    # changed, but the mask Z1 > 0 is the same before and after (a zeroed entry is not > 0).
    "grads_relu_in_place_on_z1": grads("A1 = np.maximum(Z1, 0)", "A1 = Z1\n    A1[A1 < 0] = 0"),
    # CS231n's TwoLayerNet.loss signature: a reg parameter (default 0.0) whose term 0.5 * reg *
    # ||W||^2 adds reg * W to each gradient, and the epoch passes nothing for it.
    "grads_cs231n_reg_parameter_default_zero": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2, reg=0.0):
                N = X.shape[0]
                h = np.maximum(0, X.dot(W1))
                scores = h.dot(W2)
                scores -= np.max(scores, axis=1, keepdims=True)
                probs = np.exp(scores)
                probs /= np.sum(probs, axis=1, keepdims=True)
                dscores = probs
                dscores[np.arange(N), y] -= 1
                dscores /= N
                dW2 = h.T.dot(dscores) + reg * W2
                dh = dscores.dot(W2.T)
                dh[h <= 0] = 0
                dW1 = X.T.dot(dh) + reg * W1
                return dW1, dW2
        """,
    },
    # N // batch + 1 minibatches, the last one empty when batch divides N, and not skipped: its
    # gradients are zero matrices (X.T @ an empty G), so the step changes nothing.
    "epoch_empty_last_batch_taken": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                for i in range(X.shape[0] // batch + 1):
                    X_b = X[i * batch:(i + 1) * batch]
                    y_b = y[i * batch:(i + 1) * batch]
                    dW1, dW2 = two_layer_grads(X_b, y_b, W1, W2)
                    W1 -= lr * dW1
                    W2 -= lr * dW2
        """,
    },
    # Labels turned into a one-hot float matrix with np.eye(k)[y] (uint8 labels index fine),
    # the softmax through np.exp(Z - logsumexp), the mask from np.greater, products by np.matmul.
    "grads_eye_one_hot_logsumexp": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                Z1 = np.matmul(X, W1)
                A1 = np.maximum(Z1, 0)
                Z2 = np.matmul(A1, W2)
                m = Z2.max(axis=1, keepdims=True)
                lse = m + np.log(np.exp(Z2 - m).sum(axis=1, keepdims=True))
                P = np.exp(Z2 - lse)
                Y = np.eye(W2.shape[1], dtype=Z2.dtype)[y]
                G2 = (P - Y) / len(X)
                return np.matmul(X.T, np.matmul(G2, W2.T) * np.greater(Z1, 0)), np.matmul(A1.T, G2)
        """,
    },
    # More: clip, einsum and tile, float64 inside and cast back, per-example loops.
    # Z.clip(min=0) (a new array); the forward pass's ReLU in place on its own Z1.
    "relu_clip_forward_in_place": {
        "relu": """
            def relu(Z):
                return Z.clip(min=0)
        """,
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                Z1 = X @ W1
                np.maximum(Z1, 0, out=Z1)  # Z1 is a new array: in place is safe
                return Z1 @ W2
        """,
    },
    # np.einsum, and the bias tiled to a full (B, d) matrix.
    "linear_einsum_tile": {
        "linear": """
            def linear(X, W, b):
                rows = np.tile(np.asarray(b).reshape(1, -1), (X.shape[0], 1))
                return np.einsum("bn,nd->bd", X, W) + rows
        """,
    },
    # Float64 inside whatever the inputs, both gradients cast to the inputs' dtype.
    "grads_float64_then_cast_back": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                dtype = np.result_type(X, W1, W2)
                X, W1, W2 = (np.asarray(a, dtype=np.float64) for a in (X, W1, W2))
                Z1 = X @ W1
                mask = Z1 > 0
                A1 = Z1 * mask
                Z2 = A1 @ W2
                Z2 -= Z2.max(axis=1, keepdims=True)
                S = np.exp(Z2)
                S /= S.sum(axis=1, keepdims=True)
                S[np.arange(len(y)), y] -= 1
                S /= len(y)
                return (X.T @ ((S @ W2.T) * mask)).astype(dtype), (A1.T @ S).astype(dtype)
        """,
    },
    # Float64 master weights for the epoch, written back into W1 and W2 at its end.
    "epoch_float64_master_weights": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                W1_64, W2_64 = W1.astype(np.float64), W2.astype(np.float64)
                X64 = X.astype(np.float64)
                for start in range(0, len(X), batch):
                    rows = slice(start, start + batch)
                    dW1, dW2 = two_layer_grads(X64[rows], y[rows], W1_64, W2_64)
                    W1_64 -= lr * dW1
                    W2_64 -= lr * dW2
                W1[...] = W1_64
                W2[...] = W2_64
        """,
    },
    # Backpropagation one example at a time, outer products summed.
    "grads_per_example_outer_products": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                dW1 = np.zeros(W1.shape, dtype=np.result_type(X, W1, W2))
                dW2 = np.zeros(W2.shape, dtype=dW1.dtype)
                for x, label in zip(X, y):
                    z1 = x @ W1
                    a1 = np.maximum(z1, 0)
                    z2 = a1 @ W2
                    p = np.exp(z2 - z2.max())
                    p /= p.sum()
                    p[label] -= 1
                    dW2 += np.outer(a1, p)
                    dW1 += np.outer(x, (W2 @ p) * (z1 > 0))
                return dW1 / len(y), dW2 / len(y)
        """,
    },
    # An unseen class's (helper-written from the stub alone).
    # einsum for every product, the softmax normalised out of place.
    "einsum_everywhere": {
        "linear": """
            def linear(X, W, b):
                return np.einsum("bn,nd->bd", X, W) + b
        """,
        "two_layer_forward": """
            def two_layer_forward(X, W1, W2):
                return np.einsum("bd,dk->bk", relu(np.einsum("bn,nd->bd", X, W1)), W2)
        """,
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B = X.shape[0]
                Z1 = np.einsum("bn,nd->bd", X, W1)
                A1 = relu(Z1)
                Z2 = np.einsum("bd,dk->bk", A1, W2)
                S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                S = S / S.sum(axis=1, keepdims=True)
                S[np.arange(B), y] -= 1
                G2 = S / B
                dW2 = np.einsum("bd,bk->dk", A1, G2)
                dW1 = np.einsum("bn,bd->nd", X, np.einsum("bk,dk->bd", G2, W2) * (Z1 > 0))
                return dW1, dW2
        """,
    },
    # relu as a copy whose negatives are zeroed (the copy, not Z).
    "relu_copy_then_zero_negatives": {
        "relu": """
            def relu(Z):
                out = Z.copy()
                out[out < 0] = 0
                return out
        """,
    },
    # linear by np.dot and an in-place += of b reshaped to a row.
    "linear_dot_then_add_reshaped_bias": {
        "linear": """
            def linear(X, W, b):
                out = np.dot(X, W)
                out += np.reshape(b, (1, -1))
                return out
        """,
    },
    # A while loop over explicit bounds; updates through np.subtract(..., out=W).
    "epoch_while_loop_subtract_out": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                start = 0
                N = len(y)
                while start < N:
                    stop = min(start + batch, N)
                    grads = two_layer_grads(X[start:stop], y[start:stop], W1, W2)
                    for W, dW in zip((W1, W2), grads):
                        np.subtract(W, lr * dW, out=W)
                    start = stop
                return None
        """,
    },
    # np.split of X and y themselves at the batch boundaries; W[...] = and W[:] = updates.
    "epoch_np_split_slice_assignment": {
        "nn_epoch": """
            def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
                cuts = range(batch, len(X), batch)
                for Xb, yb in zip(np.split(X, cuts), np.split(y, cuts)):
                    dW1, dW2 = two_layer_grads(Xb, yb, W1, W2)
                    W1[...] = W1 - lr * dW1
                    W2[:] = W2 - lr * dW2
        """,
    },
    # float32 inputs give float64 gradients (np.eye(k)[y] upcasts): the notebook only asks
    # float64 inputs for float64 results.
    "grads_float32_inputs_give_float64": {
        "two_layer_grads": """
            def two_layer_grads(X, y, W1, W2):
                B, k = X.shape[0], W2.shape[1]
                Z1 = X @ W1
                A1 = relu(Z1)
                Z2 = A1 @ W2
                E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
                G2 = (E / E.sum(axis=1, keepdims=True) - np.eye(k)[y]) / B
                return X.T @ (G2 @ W2.T * (Z1 > 0)), A1.T @ G2
        """,
    },
}
