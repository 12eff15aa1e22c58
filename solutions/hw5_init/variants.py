"""Homework 5's variants (see dlhw.autograder.variants): realistic bugs that must lose points and
correct-but-unusual solutions that must keep full marks. tests/test_homeworks.py grades each."""

KAIMING_STD = """
def kaiming_std(fan_in, fan_out, nonlinearity, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity) / math.sqrt(fan)
"""

GAIN = """
def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")
"""

NORMS = """
def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
    rng = np.random.default_rng(rng)
    h = rng.standard_normal((n_samples, width))
    norms = np.empty(depth)
    for layer in range(depth):
        W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
        h = np.maximum(h @ W, 0.0)
        norms[layer] = np.linalg.norm(h, axis=1).mean()
    return norms
"""


def changed(name: str, source: str, old: str, new: str) -> dict[str, str]:
    assert source.count(old) == 1, old
    return {name: source.replace(old, new)}


BUGS = {
    # Kaiming's fan taken from the other side: fan_out in mode "fan_in" and the reverse.
    "kaiming_fans_swapped": changed(
        "kaiming_std",
        KAIMING_STD,
        'fan_in if mode == "fan_in" else fan_out',
        'fan_out if mode == "fan_in" else fan_in',
    ),
    # The mode argument ignored: always fan_in.
    "kaiming_mode_ignored": changed(
        "kaiming_std", KAIMING_STD, 'fan = fan_in if mode == "fan_in" else fan_out', "fan = fan_in"
    ),
    # The gain applied twice (once in kaiming_std, once more on top).
    "kaiming_gain_twice": changed(
        "kaiming_std",
        KAIMING_STD,
        "return calculate_gain(nonlinearity) / math.sqrt(fan)",
        "return calculate_gain(nonlinearity) ** 2 / math.sqrt(fan)",
    ),
    # A missing square root: the variance 2 / fan used as the standard deviation... of the gain.
    "kaiming_std_without_sqrt": changed(
        "kaiming_std",
        KAIMING_STD,
        "return calculate_gain(nonlinearity) / math.sqrt(fan)",
        "return calculate_gain(nonlinearity) / fan",
    ),
    # The uniform bound without sqrt(3): the standard deviation used as the bound.
    "kaiming_uniform_bound_without_sqrt3": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                bound = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    "xavier_uniform_bound_without_sqrt3": {
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                bound = gain * math.sqrt(2.0 / (fan_in + fan_out))
                return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    # rng.normal's second argument is the standard deviation; this passes the variance.
    "xavier_normal_variance_as_std": {
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                var = gain**2 * 2.0 / (fan_in + fan_out)
                return np.random.default_rng(rng).normal(0.0, var, size=(fan_in, fan_out))
        """,
    },
    # The gain forgotten in xavier_normal.
    "xavier_normal_without_gain": {
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                std = math.sqrt(2.0 / (fan_in + fan_out))
                return np.random.default_rng(rng).normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # LeCun's fan in place of Glorot's average.
    "xavier_uses_fan_in_only": {
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                bound = gain * math.sqrt(3.0 / fan_in)
                return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    # torch's layout: (fan_out, fan_in).
    "torch_weight_layout": {
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                std = gain * math.sqrt(2.0 / (fan_in + fan_out))
                return np.random.default_rng(rng).normal(0.0, std, size=(fan_out, fan_in))
        """,
    },
    # relu's gain as 2 (the variance factor) rather than sqrt(2).
    "relu_gain_two": changed("calculate_gain", GAIN, "return math.sqrt(2.0)\n", "return 2.0\n"),
    # leaky_relu's gain with the slope not squared.
    "leaky_relu_slope_not_squared": changed(
        "calculate_gain", GAIN, "(1.0 + slope**2)", "(1.0 + slope)"
    ),
    # leaky_relu's param ignored (always the default slope).
    "leaky_relu_param_ignored": changed(
        "calculate_gain", GAIN, "slope = 0.01 if param is None else float(param)", "slope = 0.01"
    ),
    # tanh's gain as 1.
    "tanh_gain_one": changed("calculate_gain", GAIN, "return 5.0 / 3.0", "return 1.0"),
    # The global generator: rng ignored.
    "global_np_random": {
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # A Generator accepted only as a seed: a fresh default_rng() when rng is not an int.
    "generator_replaced_by_fresh_one": {
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
                gen = np.random.default_rng(rng if isinstance(rng, int) else None)
                return gen.uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    # A normal where a uniform was asked for (same variance): only the distribution shows it.
    "kaiming_uniform_draws_normal": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.default_rng(rng).normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # The norms of the pre-activations (before the ReLU).
    "norms_before_relu": changed(
        "activation_norms",
        NORMS,
        "h = np.maximum(h @ W, 0.0)\n        norms[layer] = np.linalg.norm(h, axis=1).mean()",
        "z = h @ W\n        h = np.maximum(z, 0.0)\n        norms[layer] = np.linalg.norm(z, axis=1).mean()",
    ),
    # No ReLU at all: a linear network.
    "norms_without_relu": changed(
        "activation_norms", NORMS, "h = np.maximum(h @ W, 0.0)", "h = h @ W"
    ),
    # sigma2 used as the standard deviation.
    "norms_variance_as_std": changed(
        "activation_norms", NORMS, "rng.normal(0.0, math.sqrt(sigma2),", "rng.normal(0.0, sigma2,"
    ),
    # The norm of the whole batch of activations instead of each sample's, averaged.
    "norms_of_the_batch": changed(
        "activation_norms", NORMS, "np.linalg.norm(h, axis=1).mean()", "np.linalg.norm(h)"
    ),
    # One W drawn before the loop and used by every layer: a weight-tied network, whose norms
    # settle into a constant rate per layer (and under 2/n still stay about the same size).
    "norms_one_w_for_every_layer": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
                norms = np.empty(depth)
                for layer in range(depth):
                    h = np.maximum(h @ W, 0.0)
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                return norms
        """,
    },
    # Each norm recorded before its layer: x, h_1, ..., h_{depth - 1} (under 2/n the input's norm
    # is about the first layer's, so only another variance shows it).
    "norms_recorded_before_each_layer": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                norms = np.empty(depth)
                for layer in range(depth):
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                    W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
                    h = np.maximum(h @ W, 0.0)
                return norms
        """,
    },
    # rng ignored: inputs and weights from the global np.random (right statistics, not repeatable).
    "norms_ignore_rng": changed(
        "activation_norms",
        NORMS.replace(
            "rng.normal(0.0, math.sqrt(sigma2), size=(width, width))",
            "np.random.normal(0.0, math.sqrt(sigma2), size=(width, width))",
        ),
        "h = rng.standard_normal((n_samples, width))",
        "h = np.random.standard_normal((n_samples, width))",
    ),
    # The root mean square of the samples' norms, ||h||_F / sqrt(n_samples), for their mean: 1%
    # off at width 100, 50% at width 2.
    "norms_root_mean_square": changed(
        "activation_norms",
        NORMS,
        "np.linalg.norm(h, axis=1).mean()",
        "np.linalg.norm(h) / math.sqrt(n_samples)",
    ),
    # The median of the samples' norms for their mean.
    "norms_median": changed(
        "activation_norms",
        NORMS,
        "np.linalg.norm(h, axis=1).mean()",
        "np.median(np.linalg.norm(h, axis=1))",
    ),
    # `if not rng` takes the seed 0 for "no seed": fresh randomness for rng=0.
    "seed_zero_taken_for_none": {
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                if not rng:
                    rng = np.random.default_rng()
                elif not isinstance(rng, np.random.Generator):
                    rng = np.random.default_rng(rng)
                bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
                return rng.uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    # The default slope moved into the signature: an explicit param=None fails.
    "leaky_relu_default_in_signature": changed(
        "calculate_gain",
        GAIN.replace("param=None", "param=0.01"),
        "slope = 0.01 if param is None else float(param)",
        "slope = param",
    ),
    # `param or 0.01`: a slope of 0 becomes 0.01.
    "leaky_relu_zero_slope_taken_for_none": changed(
        "calculate_gain",
        GAIN,
        "slope = 0.01 if param is None else float(param)",
        "slope = param or 0.01",
    ),
    # A normal truncated at two standard deviations (np.clip): a smaller variance, another shape.
    "kaiming_normal_clipped_at_two_std": {
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                w = np.random.default_rng(rng).normal(0.0, std, size=(fan_in, fan_out))
                return np.clip(w, -2 * std, 2 * std)
        """,
    },
    # n_samples ignored: the default's 1,000 inputs whatever the caller asks (the statistics of
    # the mean norm are the same; only few samples show it).
    "norms_n_samples_ignored": changed(
        "activation_norms",
        NORMS,
        "rng.standard_normal((n_samples, width))",
        "rng.standard_normal((1000, width))",
    ),
    # The generator re-made from rng inside the loop: with an int seed every layer gets the same W,
    # whose entries are the inputs' first draws.
    "norms_generator_reseeded_every_layer": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                h = np.random.default_rng(rng).standard_normal((n_samples, width))
                norms = np.empty(depth)
                for layer in range(depth):
                    W = np.random.default_rng(rng).normal(0.0, math.sqrt(sigma2), size=(width, width))
                    h = np.maximum(h @ W, 0.0)
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                return norms
        """,
    },
    # torch's kaiming_uniform_ passes its a=0 as the slope: leaky_relu's gain becomes relu's
    # (off by 5e-5: only the uniform's exact bound shows it).
    "kaiming_leaky_relu_slope_zero": changed(
        "kaiming_std",
        KAIMING_STD,
        "calculate_gain(nonlinearity)",
        "calculate_gain(nonlinearity, 0)",
    ),
    # Two generators made from one seed, one for the inputs and one for the weights: with an
    # int seed the weights repeat the inputs' numbers (caught where x w = x^2 is never < 0).
    "norms_inputs_and_weights_from_two_generators": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                h = np.random.default_rng(rng).standard_normal((n_samples, width))
                gen = np.random.default_rng(rng)
                norms = np.empty(depth)
                for layer in range(depth):
                    W = gen.normal(0.0, math.sqrt(sigma2), size=(width, width))
                    h = np.maximum(h @ W, 0.0)
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                return norms
        """,
    },
    # A layer as "the activation, then the weights": h = relu(h) @ W, the ReLU applied to the
    # input too, and the norms those of the pre-activations. Per sample the norms have the
    # distribution of the right ones at every layer (a Gaussian vector's length and direction
    # are independent, so relu before or after the product only relabels the factors): it kept
    # every point until the first-norm spread test (the samples share relu(x)'s mean).
    "norms_relu_before_each_layer_pre_activations": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                norms = np.empty(depth)
                for layer in range(depth):
                    W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
                    h = np.maximum(h, 0.0) @ W
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                return norms
        """,
    },
    # Kaiming in torch's argument order (mode before nonlinearity, as in kaiming_normal_): every
    # call by keyword is right, kaiming_uniform(30, 70, "tanh", "fan_out") takes mode "tanh".
    "kaiming_torch_argument_order": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, mode="fan_in", nonlinearity="relu", rng=None):
                bound = math.sqrt(3.0) * kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, mode="fan_in", nonlinearity="relu", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.default_rng(rng).normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # ChatGPT-style type hints and a guard that refuses an int seed (the notebook allows one).
    "rng_asserted_to_be_a_generator": {
        "xavier_normal": """
            def xavier_normal(fan_in: int, fan_out: int, gain: float = 1.0,
                              rng: "np.random.Generator | None" = None) -> np.ndarray:
                \"\"\"Glorot normal initialization.\"\"\"
                assert rng is None or isinstance(rng, np.random.Generator), "rng must be a Generator or None"
                rng = rng if rng is not None else np.random.default_rng()
                std = gain * math.sqrt(2.0 / (fan_in + fan_out))
                return rng.normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # ChatGPT: the norms as squared norms ("energy") via einsum.
    "norms_squared_einsum": {
        "activation_norms": """
            def activation_norms(depth: int, width: int, sigma2: float, n_samples: int = 1000, rng=None) -> np.ndarray:
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                out = []
                for _ in range(depth):
                    W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
                    h = np.maximum(h @ W, 0.0)
                    out.append(np.einsum("ij,ij->i", h, h).mean())
                return np.array(out)
        """,
    },
    # Students' own mistakes (session s24).
    # Each sample's norm taken over the wrong axis: the norm of every unit over the samples,
    # averaged over the units.
    "norms_over_the_sample_axis": changed(
        "activation_norms",
        NORMS,
        "np.linalg.norm(h, axis=1).mean()",
        "np.linalg.norm(h, axis=0).mean()",
    ),
    # The inputs from rng.random (numpy's rand, uniform on [0, 1)) instead of standard_normal.
    "norms_inputs_uniform_on_zero_one": changed(
        "activation_norms",
        NORMS,
        "h = rng.standard_normal((n_samples, width))",
        "h = rng.random((n_samples, width))",
    ),
    # `rng or 0`: no seed given becomes the seed 0, so activation_norms() without rng draws the
    # same network every time (every int seed and Generator still works).
    "norms_no_seed_is_seed_zero": changed(
        "activation_norms",
        NORMS,
        "rng = np.random.default_rng(rng)",
        "rng = np.random.default_rng(rng or 0)",
    ),
    # A precedence slip: sqrt(6 / fan_in + fan_out) for sqrt(6 / (fan_in + fan_out)). Its
    # feedback used to be "the mean of the weights is 0.038, expected 0" (a shift?): the
    # mean is now judged against the weights' own spread, and their scale reported.
    "xavier_uniform_sqrt_precedence": {
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                bound = gain * math.sqrt(6.0 / fan_in + fan_out)
                return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    # The gain inside the square root (a gain on the variance): right for gain 1 only.
    "xavier_normal_gain_inside_sqrt": {
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                std = math.sqrt(gain * 2.0 / (fan_in + fan_out))
                return np.random.default_rng(rng).normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # numpy's legacy RandomState(rng): None and int seeds work, a Generator is refused with
    # "TypeError: Cannot cast scalar from dtype('O')"; the feedback now says what rng was.
    "kaiming_uniform_legacy_random_state": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                bound = math.sqrt(3.0) * kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.RandomState(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
    # A leaky ReLU (slope 0.01) in the experiment's network: its norms are within 0.01% of the
    # ReLU's, but it never gives an exact 0.
    "norms_leaky_relu": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                norms = np.empty(depth)
                for layer in range(depth):
                    W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
                    z = h @ W
                    h = np.maximum(z, 0.01 * z)
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                return norms
        """,
    },
    # The gains as rounded constants (1.67, 1.414) from a table in the lecture slides.
    "gain_rounded_constants": {
        "calculate_gain": """
            def calculate_gain(nonlinearity, param=None):
                gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 1.67, "relu": 1.414}
                if nonlinearity in gains:
                    return gains[nonlinearity]
                if nonlinearity == "leaky_relu":
                    slope = 0.01 if param is None else param
                    return math.sqrt(2.0 / (1.0 + slope**2))
                raise ValueError(nonlinearity)
        """,
    },
    # The uniform's bound from the variance: 3 std^2 (a^2 / 3 = var read as a = 3 var).
    "kaiming_uniform_bound_from_variance": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                bound = 3.0 * std**2
                return np.random.default_rng(rng).uniform(-bound, bound, size=(fan_in, fan_out))
        """,
    },
}

UNUSUAL = {
    # standard_normal scaled, a uniform from random(), float32 weights, a dict of gains.
    "scaled_standard_draws_float32": {
        "calculate_gain": """
            GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5 / 3, "relu": 2**0.5}

            def calculate_gain(nonlinearity, param=None):
                if nonlinearity == "leaky_relu":
                    a = 0.01 if param is None else param
                    return (2 / (1 + a * a)) ** 0.5
                try:
                    return GAINS[nonlinearity]
                except KeyError:
                    raise ValueError(nonlinearity) from None
        """,
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                a = gain * (6 / (fan_in + fan_out)) ** 0.5
                u = np.random.default_rng(rng).random((fan_in, fan_out))
                return ((2 * u - 1) * a).astype(np.float32)
        """,
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                std = gain * np.sqrt(2 / (fan_in + fan_out))
                z = np.random.default_rng(rng).standard_normal((fan_in, fan_out), dtype=np.float32)
                return z * np.float32(std)
        """,
    },
    # Generators checked explicitly, Kaiming written without a helper, fans by a dict.
    "explicit_generator_check": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
                fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode)
                if fan is None:
                    raise ValueError(mode)
                bound = calculate_gain(nonlinearity) * math.sqrt(3.0 / fan)
                return gen.uniform(low=-bound, high=bound, size=(fan_in, fan_out))
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
                try:
                    fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
                except KeyError:
                    raise ValueError(f"unknown mode {mode}") from None
                return calculate_gain(nonlinearity) / math.sqrt(fan) * gen.standard_normal((fan_in, fan_out))
        """,
    },
    # activation_norms one sample at a time, with sqrt(sum of squares), weights drawn the same
    # way (the draws may come in another order: the tests compare statistics).
    "norms_per_sample_loop": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                weights = [math.sqrt(sigma2) * rng.standard_normal((width, width)) for _ in range(depth)]
                totals = [0.0] * depth
                for _ in range(n_samples):
                    h = rng.standard_normal(width)
                    for layer, W in enumerate(weights):
                        h = np.clip(h @ W, 0, None)
                        totals[layer] += math.sqrt(float(np.sum(h * h)))
                return np.array(totals) / n_samples
        """,
    },
    # An exception class of the student's own, derived from ValueError (it is a ValueError).
    "own_value_error_subclass": {
        "calculate_gain": """
            class UnsupportedNonlinearity(ValueError):
                pass

            def calculate_gain(nonlinearity, param=None):
                table = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2)}
                if nonlinearity == "leaky_relu":
                    return math.sqrt(2.0 / (1.0 + (0.01 if param is None else param) ** 2))
                if nonlinearity not in table:
                    raise UnsupportedNonlinearity(nonlinearity)
                return table[nonlinearity]
        """,
    },
    # An exception class of two built-in ones, as pandas' OptionError(AttributeError, KeyError):
    # a KeyError of the table of gains and a ValueError (what the docstring asks for).
    "own_key_and_value_error": {
        "calculate_gain": """
            class UnknownNonlinearity(KeyError, ValueError):
                def __str__(self):
                    return f"unsupported nonlinearity {self.args[0]!r}"

            GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2)}

            def calculate_gain(nonlinearity, param=None):
                if nonlinearity == "leaky_relu":
                    return math.sqrt(2.0 / (1.0 + (0.01 if param is None else param) ** 2))
                if nonlinearity not in GAINS:
                    raise UnknownNonlinearity(nonlinearity)
                return GAINS[nonlinearity]
        """,
    },
    # A match statement; numpy scalars (np.sqrt) for the gains.
    "gain_by_match_numpy_scalars": {
        "calculate_gain": """
            def calculate_gain(nonlinearity, param=None):
                match nonlinearity:
                    case "linear" | "sigmoid":
                        return 1.0
                    case "tanh":
                        return 5.0 / 3.0
                    case "relu":
                        return np.sqrt(2.0)
                    case "leaky_relu":
                        slope = 0.01 if param is None else param
                        return np.sqrt(2.0 / (1.0 + slope * slope))
                    case _:
                        raise ValueError(nonlinearity)
        """,
    },
    # Box-Muller normals from rng.random; a normal drawn in torch's (out, in) layout, transposed.
    "box_muller_and_transposed_draws": {
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                g = np.random.default_rng(rng)
                u1 = 1.0 - g.random((fan_in, fan_out))
                u2 = g.random((fan_in, fan_out))
                z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)
                return gain * np.sqrt(2.0 / (fan_in + fan_out)) * z
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return np.random.default_rng(rng).normal(size=(fan_out, fan_in)).T * std
        """,
    },
    # A child generator seeded by a draw from rng; the bound through a module-level lambda.
    "child_generator_and_lambda": {
        "xavier_uniform": """
            _xavier_std = lambda fi, fo, g: g * math.sqrt(2.0 / (fi + fo))

            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                parent = np.random.default_rng(rng)
                child = np.random.default_rng(int(parent.integers(2**63)))
                a = math.sqrt(3.0) * _xavier_std(fan_in, fan_out, gain)
                return a * child.uniform(-1.0, 1.0, size=(fan_in, fan_out))
        """,
    },
    # Independent child generators spawned from rng (numpy's advice for parallel streams), three
    # ways: Generator.spawn, the bit generator's seed_seq.spawn, BitGenerator.spawn. Children
    # come from rng's SeedSequence, not its state: two generators in the same state spawn the
    # same children only if the grader carries the SeedSequence across (wire/generators.py).
    "spawned_child_generators": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                inputs, weights = np.random.default_rng(rng).spawn(2)
                h = inputs.standard_normal((n_samples, width))
                norms = np.empty(depth)
                for layer in range(depth):
                    W = weights.normal(0.0, math.sqrt(sigma2), size=(width, width))
                    h = np.maximum(h @ W, 0.0)
                    norms[layer] = np.linalg.norm(h, axis=1).mean()
                return norms
        """,
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                seed_seq = np.random.default_rng(rng).bit_generator.seed_seq
                child = np.random.default_rng(seed_seq.spawn(1)[0])
                bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
                return child.uniform(-bound, bound, size=(fan_in, fan_out))
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                parent = np.random.default_rng(rng)
                parent.spawn(1)  # a first child for something else: the weights get the second
                child = np.random.Generator(parent.bit_generator.spawn(1)[0])
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return child.normal(0.0, std, size=(fan_in, fan_out))
        """,
    },
    # Every layer's weights in one 3-D draw before the inputs; samples as columns; einsum norms.
    "norms_weights_first_samples_as_columns": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                g = np.random.default_rng(rng)
                Ws = g.normal(scale=np.sqrt(sigma2), size=(depth, width, width))
                H = g.standard_normal((width, n_samples))
                out = []
                for W in Ws:
                    H = np.maximum(W.T @ H, 0)
                    out.append(np.sqrt(np.einsum("ij,ij->j", H, H)).mean())
                return np.array(out)
        """,
    },
    # The norms appended to a list in the loop and returned as that list (numpy float64s): the
    # depth numbers the notebook asks for, not wrapped in an array.
    "norms_returned_as_a_list": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                norms = []
                for _ in range(depth):
                    h = np.maximum(h @ rng.normal(0.0, math.sqrt(sigma2), size=(width, width)), 0.0)
                    norms.append(np.linalg.norm(h, axis=1).mean())
                return norms
        """,
    },
    # Gains by formula (relu as leaky_relu of slope 0), the fan from a helper, a uniform from
    # rng.random rescaled, a normal as standard_normal times the std.
    "gain_formulas_fan_helper_rescaled_draws": {
        "calculate_gain": """
            def calculate_gain(nonlinearity, param=None):
                if nonlinearity in {"linear", "sigmoid"}:
                    return 1.0
                if nonlinearity == "tanh":
                    return 5 / 3
                if nonlinearity in ("relu", "leaky_relu"):
                    a = 0.0 if nonlinearity == "relu" else (0.01 if param is None else param)
                    return math.sqrt(2.0 / (1.0 + a**2))
                raise ValueError(f"no gain for {nonlinearity}")
        """,
        "kaiming_std": """
            def _fan(fan_in, fan_out, mode):
                fans = {"fan_in": fan_in, "fan_out": fan_out}
                if mode not in fans:
                    raise ValueError(mode)
                return fans[mode]

            def kaiming_std(fan_in, fan_out, nonlinearity, mode):
                return calculate_gain(nonlinearity) * _fan(fan_in, fan_out, mode) ** -0.5
        """,
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                b = math.sqrt(3.0) * kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return b * (2.0 * np.random.default_rng(rng).random((fan_in, fan_out)) - 1.0)
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                return std * np.random.default_rng(rng).standard_normal((fan_in, fan_out))
        """,
    },
    # activation_norms: samples as columns (W @ H), a while loop, norms as the square root of the
    # column sums of squares, collected in a list of floats and returned as an array.
    "norms_while_loop_samples_as_columns": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                H = rng.standard_normal((n_samples, width)).T
                norms, layer = [], 0
                while layer < depth:
                    W = np.sqrt(sigma2) * rng.standard_normal((width, width))
                    H = np.maximum(W @ H, 0)
                    norms.append(float(np.mean(np.sqrt((H**2).sum(axis=0)))))
                    layer += 1
                return np.asarray(norms)
        """,
    },
    # The network in float32 (draws with dtype=np.float32), the norms appended to a list:
    # np.float32 numbers, not Python floats (refused as "not an array" while a list of Python
    # floats was taken).
    "norms_float32_list": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                gen = np.random.default_rng(rng)
                h = gen.standard_normal((n_samples, width), dtype=np.float32)
                out = []
                for _ in range(depth):
                    W = gen.standard_normal((width, width), dtype=np.float32)
                    h = np.maximum(h @ (W * np.float32(math.sqrt(sigma2))), 0)
                    out.append(np.linalg.norm(h, axis=1).mean())
                return out
        """,
    },
    # All the weights in one draw of shape (depth, width, width); the ReLU by a mask, the norms
    # by einsum.
    "norms_one_draw_einsum": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                h = rng.standard_normal((n_samples, width))
                Ws = rng.normal(scale=sigma2 ** 0.5, size=(depth, width, width))
                norms = np.zeros(depth)
                for layer, W in enumerate(Ws):
                    h = h @ W
                    h[h < 0] = 0
                    norms[layer] = np.sqrt(np.einsum("ij,ij->i", h, h)).mean()
                return norms
        """,
    },
    # Kaiming through Xavier, with the gain that turns Xavier's std into Kaiming's.
    "kaiming_through_xavier": {
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                xavier_std = math.sqrt(2.0 / (fan_in + fan_out))
                return xavier_uniform(fan_in, fan_out, gain=std / xavier_std, rng=rng)
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                std = kaiming_std(fan_in, fan_out, nonlinearity, mode)
                gain = std * math.sqrt((fan_in + fan_out) / 2.0)
                return xavier_normal(fan_in, fan_out, gain=gain, rng=rng)
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # torch.nn.init.calculate_gain's source, nearly verbatim: returns the int 1 for linear and
    # sigmoid, knows conv names and selu, and validates param as torch does.
    "calculate_gain_torch_source": {
        "calculate_gain": """
            def calculate_gain(nonlinearity, param=None):
                linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                              "conv_transpose2d", "conv_transpose3d"]
                if nonlinearity in linear_fns or nonlinearity == "sigmoid":
                    return 1
                elif nonlinearity == "tanh":
                    return 5.0 / 3
                elif nonlinearity == "relu":
                    return math.sqrt(2.0)
                elif nonlinearity == "leaky_relu":
                    if param is None:
                        negative_slope = 0.01
                    elif not isinstance(param, bool) and isinstance(param, int) or isinstance(param, float):
                        negative_slope = param
                    else:
                        raise ValueError(f"negative_slope {param} not a valid number")
                    return math.sqrt(2.0 / (1 + negative_slope**2))
                elif nonlinearity == "selu":
                    return 3.0 / 4
                else:
                    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
        """,
    },
    # torch.nn.init's xavier/kaiming source: a fan helper on a torch-layout shape (out, in),
    # std and bound as torch computes them, the draw transposed back to (fan_in, fan_out).
    "init_torch_source_fan_helper": {
        "xavier_uniform": """
            def _calculate_fan_in_and_fan_out(shape):
                if len(shape) < 2:
                    raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
                fan_in, fan_out = shape[1], shape[0]
                receptive_field_size = 1
                for s in shape[2:]:
                    receptive_field_size *= s
                return fan_in * receptive_field_size, fan_out * receptive_field_size


            def _calculate_correct_fan(shape, mode):
                mode = mode.lower()
                valid_modes = ["fan_in", "fan_out"]
                if mode not in valid_modes:
                    raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
                fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
                return fan_in if mode == "fan_in" else fan_out


            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                shape = (fan_out, fan_in)  # torch's layout
                fi, fo = _calculate_fan_in_and_fan_out(shape)
                std = gain * math.sqrt(2.0 / float(fi + fo))
                a = math.sqrt(3.0) * std
                return np.random.default_rng(rng).uniform(-a, a, size=shape).T
        """,
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                shape = (fan_out, fan_in)
                fan = _calculate_correct_fan(shape, mode)
                gain = calculate_gain(nonlinearity)
                std = gain / math.sqrt(fan)
                bound = math.sqrt(3.0) * std
                return np.random.default_rng(rng).uniform(-bound, bound, size=shape).T
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                shape = (fan_out, fan_in)
                fan = _calculate_correct_fan(shape, mode)
                std = calculate_gain(nonlinearity) / math.sqrt(fan)
                W = np.empty(shape)
                W[...] = np.random.default_rng(rng).normal(0, std, size=shape)
                return W.T.copy()
        """,
    },
    # ChatGPT: type hints, docstring, shape asserts that hold; Stack Overflow norms via sqrt of sums.
    "norms_typed_with_asserts": {
        "activation_norms": """
            def activation_norms(depth: int, width: int, sigma2: float, n_samples: int = 1000,
                                 rng: "int | np.random.Generator | None" = None) -> np.ndarray:
                \"\"\"Mean L2 norm per layer.\"\"\"
                assert depth >= 1 and width >= 1 and sigma2 >= 0
                gen = np.random.default_rng(rng)
                x = gen.standard_normal(size=(n_samples, width))
                assert x.shape == (n_samples, width)
                result = np.zeros(depth, dtype=np.float64)
                std = np.sqrt(sigma2)
                for i in range(depth):
                    weight = gen.normal(loc=0.0, scale=std, size=(width, width))
                    x = np.clip(x @ weight, 0, None)
                    result[i] = np.mean(np.sqrt(np.sum(x ** 2, axis=-1)))
                assert result.shape == (depth,)
                return result
        """,
    },
    # Students' own ways (session s24).
    # Keyword arguments in another order (uniform(high=, low=), normal(scale=)), np.sqrt for math,
    # and the network by itertools.accumulate over a generator of layers that draws each W lazily
    # (inputs first, then the weights layer by layer), h @ W.T (W's transpose is N(0, sigma2) too).
    "keywords_np_sqrt_accumulate": {
        "xavier_uniform": """
            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                a = gain * np.sqrt(6 / (fan_in + fan_out))
                return np.random.default_rng(rng).uniform(size=(fan_in, fan_out), high=a, low=-a)
        """,
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                return np.random.default_rng(rng).normal(
                    size=(fan_in, fan_out), scale=gain * np.sqrt(2 / (fan_in + fan_out))
                )
        """,
        "activation_norms": """
            import itertools

            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                rng = np.random.default_rng(rng)
                x = rng.standard_normal((n_samples, width))
                weights = (rng.normal(scale=np.sqrt(sigma2), size=(width, width)) for _ in range(depth))
                layers = itertools.accumulate(weights, lambda h, W: np.maximum(h @ W.T, 0), initial=x)
                next(layers)  # the input itself
                return np.array([np.sqrt((h**2).sum(axis=1)).mean() for h in layers])
        """,
    },
    # rng normalized once by a helper shared by every function (an int, None or a Generator),
    # Kaiming's fan by a dict of the modes, draws as rng.uniform(-1, 1) scaled by the bound.
    "shared_rng_helper_scaled_unit_uniform": {
        "xavier_uniform": """
            def _as_generator(rng):
                if isinstance(rng, np.random.Generator):
                    return rng
                return np.random.default_rng(rng)


            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
                return bound * _as_generator(rng).uniform(-1.0, 1.0, (fan_in, fan_out))
        """,
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                fans = {"fan_in": fan_in, "fan_out": fan_out}
                if mode not in fans:
                    raise ValueError("mode must be fan_in or fan_out")
                bound = math.sqrt(3.0 / fans[mode]) * calculate_gain(nonlinearity)
                return bound * _as_generator(rng).uniform(-1.0, 1.0, (fan_in, fan_out))
        """,
    },
    # Review s24. activation_norms from numpy's global state when rng is None (each call moves it
    # on: fresh norms), else from a Generator seeded by a SeedSequence (an int) or the one given;
    # the network computed under np.errstate, in a list of float32 norms.
    "norms_global_state_for_none_seed_sequence": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                if rng is None:
                    normal = np.random.normal
                else:
                    if not isinstance(rng, np.random.Generator):
                        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(rng)))
                    normal = rng.normal
                h = normal(0.0, 1.0, size=(n_samples, width))
                norms = []
                with np.errstate(over="raise", invalid="raise"):
                    for _ in range(depth):
                        W = normal(0.0, np.sqrt(sigma2), size=(width, width))
                        h = np.maximum(h @ W, 0.0)
                        norms.append(np.float32(np.sqrt((h * h).sum(axis=1)).mean()))
                return norms
        """,
    },
    # The weights drawn by the student's own xavier_normal, with the gain that makes its std
    # sqrt(sigma2), from the same Generator; the norms appended as floats.
    "norms_weights_from_own_xavier_normal": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                gen = np.random.default_rng(rng)
                h = gen.standard_normal((n_samples, width))
                # xavier_normal's std is gain * sqrt(2 / (2 width)): this gain makes it sqrt(sigma2)
                gain = math.sqrt(sigma2 * width)
                norms = []
                for _ in range(depth):
                    h = np.maximum(h @ xavier_normal(width, width, gain=gain, rng=gen), 0.0)
                    norms.append(float(np.sqrt((h * h).sum(axis=1)).mean()))
                return np.array(norms)
        """,
    },
    # The layers as a map over range(depth) with a closure keeping h in a dict, np.fromiter
    # collecting the norms, clip(min=0) as the ReLU, np.add.reduce for the squares.
    "norms_fromiter_closure_hypot": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                gen = np.random.default_rng(rng)
                state = {"h": gen.standard_normal((n_samples, width))}
                std = sigma2 ** 0.5

                def layer(_):
                    z = state["h"] @ (std * gen.standard_normal((width, width)))
                    state["h"] = z.clip(min=0)
                    return np.sqrt(np.add.reduce(state["h"] ** 2, axis=1)).mean()

                return np.fromiter(map(layer, range(depth)), dtype=np.float64, count=depth)
        """,
    },
    # The layers by recursion (depth 50 frames), norms concatenated as lists.
    "norms_recursive_over_layers": {
        "activation_norms": """
            def activation_norms(depth, width, sigma2, n_samples=1000, rng=None):
                gen = np.random.default_rng(rng)

                def run(h, left):
                    if left == 0:
                        return []
                    h = np.maximum(h @ gen.normal(scale=math.sqrt(sigma2), size=(width, width)), 0)
                    return [np.linalg.norm(h, ord=2, axis=-1).mean()] + run(h, left - 1)

                return np.asarray(run(gen.standard_normal((n_samples, width)), depth))
        """,
    },
    # A table of lambdas keyed by the lowercased, stripped name; KeyError turned into ValueError.
    "gain_table_lowercased_names": {
        "calculate_gain": """
            GAINS = {
                "linear": lambda a: 1.0,
                "sigmoid": lambda a: 1.0,
                "tanh": lambda a: 5.0 / 3,
                "relu": lambda a: 2.0 ** 0.5,
                "leaky_relu": lambda a: (2.0 / (1.0 + (0.01 if a is None else a) ** 2)) ** 0.5,
            }

            def calculate_gain(nonlinearity, param=None):
                try:
                    return GAINS[str(nonlinearity).strip().lower()](param)
                except KeyError:
                    raise ValueError(f"no gain for {nonlinearity}") from None
        """,
    },
    # All four samplers through one private helper _draw(kind, std, shape, rng).
    "samplers_through_one_private_draw": {
        "xavier_uniform": """
            def _draw(kind, std, shape, rng):
                gen = np.random.default_rng(rng)
                if kind == "uniform":
                    a = math.sqrt(3.0) * std
                    return gen.uniform(low=-a, high=a, size=shape)
                return gen.normal(loc=0.0, scale=std, size=shape)

            def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
                return _draw("uniform", gain * math.sqrt(2.0 / (fan_in + fan_out)), (fan_in, fan_out), rng)
        """,
        "xavier_normal": """
            def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
                return _draw("normal", gain * math.sqrt(2.0 / (fan_in + fan_out)), (fan_in, fan_out), rng)
        """,
        "kaiming_uniform": """
            def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                return _draw("uniform", kaiming_std(fan_in, fan_out, nonlinearity, mode), (fan_in, fan_out), rng)
        """,
        "kaiming_normal": """
            def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
                return _draw("normal", kaiming_std(fan_in, fan_out, nonlinearity, mode), (fan_in, fan_out), rng)
        """,
    },
    # The mode checked by a match statement, the fan looked up in a dict, fan ** -0.5.
    "kaiming_fan_from_locals_and_match": {
        "kaiming_std": """
            def kaiming_std(fan_in, fan_out, nonlinearity, mode):
                match mode:
                    case "fan_in" | "fan_out":
                        fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
                    case _:
                        raise ValueError(mode)
                return calculate_gain(nonlinearity) * fan ** -0.5
        """,
    },
}
