"""Hidden tests of homework 5 (weight initialization). Never shipped to students.

`sub` is the student's code behind the trust boundary. Weights are (fan_in, fan_out), the
course's convention and the transpose of torch's (out, in).

Oracles: torch.nn.init, recorded (`autograder record-oracles hw5`, stored in recorded_oracles.npz
beside this file; CI recomputes them with live torch): its gains (`calculate_gain`) and the fan
each mode uses on a weight of the course's shape (`_calculate_correct_fan` on the transposed
tensor). The samplers draw from another generator than torch's, so the tests compare
distributions, never samples: the mean, the second moment, the exact bound of a uniform, and the
whole distribution function (Dvoretzky-Kiefer-Wolfowitz), each against the formulas of
torch.nn.init with the oracle's gain and fan.

Every statistical tolerance is chosen so that a correct implementation fails less than once in a
million runs (the calculation is written next to each), while the bugs these tests exist for
(fans swapped, a missing or doubled gain, a bound without sqrt(3), a variance given as a standard
deviation, the wrong distribution) move the statistic by many times the tolerance.
"""

from __future__ import annotations

import math
import reprlib

import numpy as np
import pytest

from dlhw.autograder.checks import assert_raises
from dlhw.autograder.oracles import lazy_import, oracle

torch = lazy_import("torch")  # imported only when an oracle is computed live

pytestmark = [pytest.mark.visibility("visible")]

# z = 6 standard errors: a two-sided normal tail of 2e-9 per statistic. A test checks at most a
# few dozen statistics, so a correct submission fails a run with probability below 1e-7.
Z = 6.0
# DKW: P(sup |F_n - F| > eps) <= 2 exp(-2 N eps^2). With 2 exp(-2 N eps^2) = 1e-9,
# eps = sqrt(ln(2e9) / (2N)); for N = 210,000 samples eps = 0.0071, while a uniform in place of
# a normal of the same variance (or the reverse) is off by 0.04 somewhere.
DKW_P = 1e-9
# Non-square shapes with clearly different fans (300 vs 700: a swap changes a Kaiming variance
# by 7/3), 210,000 samples each.
SHAPE = (300, 700)
GENERATORS = ("PCG64", "MT19937", "Philox", "SFC64")


# ---- oracles: torch.nn.init's formulas ----------------------------------------------------------


@oracle
def torch_gain(nonlinearity: str, param: float | None = None) -> float:
    return float(torch.nn.init.calculate_gain(nonlinearity, param))


@oracle
def torch_fan(fan_in: int, fan_out: int, mode: str) -> int:
    """The fan torch's Kaiming init uses in `mode` for a layer of fan_in inputs and fan_out
    outputs (torch stores the weight as (out, in))."""
    weight = torch.empty(fan_out, fan_in)
    return int(torch.nn.init._calculate_correct_fan(weight, mode))


@oracle
def torch_xavier_std(fan_in: int, fan_out: int, gain: float) -> float:
    """The standard deviation of torch's Xavier init (the same for its uniform and normal)."""
    f_in, f_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(fan_out, fan_in))
    assert (f_in, f_out) == (fan_in, fan_out)
    return gain * math.sqrt(2.0 / float(f_in + f_out))


def kaiming_std(fan_in: int, fan_out: int, nonlinearity: str, mode: str) -> float:
    # torch: std = gain / sqrt(fan); leaky_relu with the default negative slope (0.01)
    return torch_gain(nonlinearity) / math.sqrt(torch_fan(fan_in, fan_out, mode))


# ---- checks ---------------------------------------------------------------------------------


def kind(value) -> str:
    """What came back, named for a message: None says what most often gives it."""
    return "None (did it forget to `return`?)" if value is None else type(value).__name__


def as_weights(w, shape, name: str) -> np.ndarray:
    arr = np.asarray(w)
    assert isinstance(w, np.ndarray), f"{name} should return a numpy array, not {kind(w)}"
    assert arr.shape == shape, (
        f"{name} returned shape {arr.shape}, expected (fan_in, fan_out) = {shape} (weights are "
        "(fan_in, fan_out) in this course, the transpose of torch's)"
    )
    assert np.issubdtype(arr.dtype, np.floating), f"{name} returned dtype {arr.dtype}, not float"
    assert np.isfinite(arr).all(), f"{name} returned values that are not finite"
    return arr.astype(np.float64)


# The distribution functions are compared on a grid of 4,001 points over +-6 standard
# deviations: the largest gap on the grid is at most the supremum DKW bounds (so a correct
# submission fails no more often), and F moves by at most 0.0012 between grid points, far less
# than the 0.04 gap of a wrong distribution.
GRID = np.linspace(-6.0, 6.0, 4001)
# The standard normal's distribution function on the grid, the same for every std (the grid is in
# standard deviations): computed once, not per test.
NORMAL_CDF = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in GRID]))


def empirical_cdf(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The share of w's entries below each point of x, an increasing grid of equal steps.

    Counted as F_n(x-) = #{w < x} / n (the left limit of the empirical distribution function):
    for a continuous F, DKW bounds sup |F_n(x-) - F(x)| by the same eps as sup |F_n(x) - F(x)|.
    numpy's histogram bins equal steps arithmetically, ~1.5 ms for 210,000 entries, where sorting
    them took ~9 ms (its last bin is closed: the count at the grid's end also takes entries
    equal to it, which DKW bounds just the same)."""
    v = w.ravel()
    counts, _ = np.histogram(v, bins=len(x) - 1, range=(x[0], x[-1]))
    below = np.count_nonzero(v < x[0])
    return np.concatenate(([below], below + np.cumsum(counts))) / v.size


def check_distribution(w: np.ndarray, kind: str, std: float, name: str) -> None:
    """w's entries look like independent draws of U(-sqrt(3) std, sqrt(3) std) or N(0, std^2)."""
    n = w.size
    mean = float(w.mean())
    m2 = float(np.mean(w * w))
    # The mean of n draws of standard deviation std has standard error std / sqrt(n). Measured
    # against the draws' own spread (their root mean square, when larger than std): weights of
    # the wrong scale, sqrt(6 / fan_in + fan_out) say, are centred but their mean is many of
    # std's standard errors from 0, and "the mean is 0.038, expected 0" would send the student
    # looking for a shift; the second moment below reports their scale. A correct sample's root
    # mean square is std within 2% (below), so its mean is held to the same bound as before.
    spread = max(std, math.sqrt(m2))
    assert abs(mean) <= Z * spread / math.sqrt(n), (
        f"{name}: the mean of the {n} weights is {mean:.3g}, expected 0 (within "
        f"{Z * spread / n**0.5:.2g}, for weights of their spread)"
    )
    # The second moment m2 = mean(w^2) estimates std^2. Var(w^2) / std^4 = E w^4 / std^4 - 1:
    # 9/5 - 1 = 0.8 for a uniform, 3 - 1 = 2 for a normal; so m2's relative standard error is
    # sqrt(0.8 / n) or sqrt(2 / n) (0.2% or 0.3% here), and a wrong gain, fan or sqrt(3) moves
    # it by 10% at the least (a factor 7/3, 2, 3, 25/9 ... for the bugs named above).
    rel_se = math.sqrt((0.8 if kind == "uniform" else 2.0) / n)
    assert abs(m2 / std**2 - 1.0) <= Z * rel_se, (
        f"{name}: the weights' standard deviation is {math.sqrt(m2):.5g}, expected "
        f"{std:.5g} (torch.nn.init's formula)"
    )
    bound = math.sqrt(3.0) * std
    if kind == "uniform":
        # Exact bound: no entry beyond it (float32 rounding aside: 1e-6 relative), and with n
        # draws the largest |w| is below bound (1 - d) with probability (1 - d)^n ~ exp(-d n):
        # d = 21 / n makes that 8e-10 (1e-4 for 210,000 samples), while a bound without
        # sqrt(3) leaves the largest entry at 0.58 of it.
        top = float(np.abs(w).max())
        assert top <= bound * (1 + 1e-6), (
            f"{name}: an entry is {top:.6g}, beyond the bound {bound:.6g}"
        )
        assert top >= bound * (1 - 21 / n), (
            f"{name}: no entry comes near the bound {bound:.6g} (the largest is {top:.6g})"
        )
    x = GRID * std
    cdf = np.clip((x + bound) / (2 * bound), 0.0, 1.0) if kind == "uniform" else NORMAL_CDF
    empirical = empirical_cdf(w, x)
    gap = float(np.max(np.abs(empirical - cdf)))
    eps = math.sqrt(math.log(2 / DKW_P) / (2 * n))
    assert gap <= eps, (
        f"{name}: the weights' distribution function is {gap:.3f} away from that of the "
        f"{'uniform' if kind == 'uniform' else 'normal'} distribution torch draws from "
        f"(allowed {eps:.3f}): is it the right distribution?"
    )


# ---- calculate_gain ---------------------------------------------------------------------------

GAINS = [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0.0), ("leaky_relu", 1.0)]  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.parametrize(("nonlinearity", "param"), GAINS[:4], ids=[g[0] for g in GAINS[:4]])
def test_gain(sub, nonlinearity, param):
    """calculate_gain: torch.nn.init.calculate_gain's value"""
    got = sub.calculate_gain(nonlinearity)
    expected = torch_gain(nonlinearity, param)
    # What came back is quoted shortened (reprlib): a string of 4 MB, whole in 8 tests' messages
    # and pytest's log, took the grader from 59 to 228 MiB and 1.8 to 9.8 s.
    # Any correct formula (sqrt(2), 2 ** 0.5, 5 / 3) is within a few ulps of torch's.
    assert isinstance(got, (int, float)), (
        f"calculate_gain should return a number, not {reprlib.repr(got)}"
    )
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"calculate_gain({nonlinearity!r}) is {got!r}, expected {expected!r}"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("param", [None, 0.2, 0.0, 1.0], ids=["default", "0.2", "0", "1"])
def test_gain_leaky_relu(sub, param):
    """calculate_gain('leaky_relu', slope): sqrt(2 / (1 + slope^2)), default slope 0.01"""
    expected = torch_gain("leaky_relu", param)
    # The default slope both ways: no param, and param=None given explicitly (the signature's
    # default, as torch's calculate_gain takes it: a default moved into the signature fails).
    calls = [(f"calculate_gain('leaky_relu', {param!r})", ("leaky_relu", param))]
    if param is None:
        calls.insert(0, ("calculate_gain('leaky_relu')", ("leaky_relu",)))
    for what, args in calls:
        got = sub.calculate_gain(*args)
        assert isinstance(got, (int, float)), (
            f"calculate_gain should return a number, not {reprlib.repr(got)}"
        )
        assert math.isclose(got, expected, rel_tol=1e-9), (
            f"{what} is {got!r}, expected {expected!r}"
        )


@pytest.mark.points(1)
def test_unknown_names_raise_value_error(sub):
    """calculate_gain and the Kaiming inits refuse an unknown nonlinearity or mode (ValueError)"""
    calls = {
        "calculate_gain('softplus')": lambda: sub.calculate_gain("softplus"),
        "kaiming_uniform(4, 5, mode='fan_avg')": lambda: sub.kaiming_uniform(4, 5, mode="fan_avg", rng=0),
        "kaiming_normal(4, 5, mode='fan_avg')": lambda: sub.kaiming_normal(4, 5, mode="fan_avg", rng=0),
    }  # fmt: skip
    # Known names and modes return: functions that always raise a ValueError earn nothing here.
    sub.calculate_gain("tanh")
    sub.kaiming_uniform(4, 5, mode="fan_in", rng=0)
    sub.kaiming_normal(4, 5, mode="fan_out", rng=0)
    for what, call in calls.items():
        # Also a class of the student's own derived from ValueError (and KeyError, say).
        assert_raises(call, "ValueError", what)


# ---- Xavier -----------------------------------------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.parametrize("gain", [1.0, 5.0 / 3.0], ids=["gain=1", "gain=5/3"])
def test_xavier_uniform(sub, gain):
    """xavier_uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))"""
    w = as_weights(sub.xavier_uniform(*SHAPE, gain=gain, rng=11), SHAPE, "xavier_uniform")
    check_distribution(
        w, "uniform", torch_xavier_std(*SHAPE, gain), f"xavier_uniform(gain={gain:.3g})"
    )


@pytest.mark.points(2)
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2.0)], ids=["gain=1", "gain=sqrt(2)"])
def test_xavier_normal(sub, gain):
    """xavier_normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))"""
    w = as_weights(sub.xavier_normal(*SHAPE, gain=gain, rng=12), SHAPE, "xavier_normal")
    check_distribution(
        w, "normal", torch_xavier_std(*SHAPE, gain), f"xavier_normal(gain={gain:.3g})"
    )


@pytest.mark.points(1)
def test_xavier_default_gain(sub):
    """xavier_uniform and xavier_normal: gain defaults to 1"""
    std = torch_xavier_std(*SHAPE, 1.0)
    check_distribution(as_weights(sub.xavier_uniform(*SHAPE, rng=13), SHAPE, "xavier_uniform"),
                       "uniform", std, "xavier_uniform()")  # fmt: skip
    check_distribution(as_weights(sub.xavier_normal(*SHAPE, rng=14), SHAPE, "xavier_normal"),
                       "normal", std, "xavier_normal()")  # fmt: skip


# ---- Kaiming ----------------------------------------------------------------------------------

KAIMING = [("relu", "fan_in"), ("relu", "fan_out"), ("tanh", "fan_in"), ("leaky_relu", "fan_in"),
           ("linear", "fan_out")]  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.parametrize(("nonlinearity", "mode"), KAIMING, ids=["-".join(k) for k in KAIMING])
def test_kaiming_uniform(sub, nonlinearity, mode):
    """kaiming_uniform: U(-b, b) with b = sqrt(3) gain / sqrt(fan)"""
    w = sub.kaiming_uniform(*SHAPE, nonlinearity=nonlinearity, mode=mode, rng=21)
    w = as_weights(w, SHAPE, "kaiming_uniform")
    std = kaiming_std(*SHAPE, nonlinearity, mode)
    check_distribution(w, "uniform", std, f"kaiming_uniform({nonlinearity}, {mode})")


@pytest.mark.points(1)
@pytest.mark.parametrize(("nonlinearity", "mode"), KAIMING, ids=["-".join(k) for k in KAIMING])
def test_kaiming_normal(sub, nonlinearity, mode):
    """kaiming_normal: N(0, std^2) with std = gain / sqrt(fan)"""
    w = sub.kaiming_normal(*SHAPE, nonlinearity=nonlinearity, mode=mode, rng=22)
    w = as_weights(w, SHAPE, "kaiming_normal")
    std = kaiming_std(*SHAPE, nonlinearity, mode)
    check_distribution(w, "normal", std, f"kaiming_normal({nonlinearity}, {mode})")


@pytest.mark.points(1)
def test_kaiming_defaults(sub):
    """kaiming_uniform and kaiming_normal: relu and fan_in by default"""
    std = kaiming_std(*SHAPE, "relu", "fan_in")
    check_distribution(as_weights(sub.kaiming_uniform(*SHAPE, rng=23), SHAPE, "kaiming_uniform"),
                       "uniform", std, "kaiming_uniform()")  # fmt: skip
    check_distribution(as_weights(sub.kaiming_normal(*SHAPE, rng=24), SHAPE, "kaiming_normal"),
                       "normal", std, "kaiming_normal()")  # fmt: skip


# ---- the rng argument: None, an int seed, or a numpy Generator ------------------------------------

SAMPLERS = {
    "xavier_uniform": {},
    "xavier_normal": {"gain": 2.0},
    "kaiming_uniform": {"mode": "fan_out"},
    "kaiming_normal": {"nonlinearity": "tanh"},
}
SMALL = (30, 70)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", SAMPLERS)
def test_rng_none_and_int_seeds(sub, name):
    """rng=None draws fresh weights; an int seed makes them repeatable"""
    f = getattr(sub, name)
    fresh = as_weights(f(*SMALL, **SAMPLERS[name]), SMALL, name)
    again = as_weights(f(*SMALL, **SAMPLERS[name], rng=None), SMALL, name)
    # Two fresh draws of 2,100 continuous values coincide only if the generator was not fresh.
    assert not np.array_equal(fresh, again), f"{name}(rng=None) gave the same weights twice"
    first = as_weights(f(*SMALL, **SAMPLERS[name], rng=5), SMALL, name)
    assert np.array_equal(first, as_weights(f(*SMALL, **SAMPLERS[name], rng=5), SMALL, name)), (
        f"{name}(rng=5) gave different weights on a second call: draw from a generator seeded "
        "with rng (np.random.default_rng(rng)), not from the global np.random"
    )
    assert not np.array_equal(first, as_weights(f(*SMALL, **SAMPLERS[name], rng=6), SMALL, name)), (
        f"{name} gave the same weights for rng=5 and rng=6: the seed is not used"
    )
    # 0 is a seed like any other: `if not rng` or `rng or ...` takes it for "no seed".
    zero = as_weights(f(*SMALL, **SAMPLERS[name], rng=0), SMALL, name)
    assert np.array_equal(zero, as_weights(f(*SMALL, **SAMPLERS[name], rng=0), SMALL, name)), (
        f"{name}(rng=0) gave different weights on a second call: the seed 0 is a seed too "
        "(test `rng is None`, not `not rng`; np.random.default_rng(rng) handles every case)"
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("bit_generator", GENERATORS)
def test_rng_generator(sub, name, bit_generator):
    """rng=a numpy Generator: the weights come from that generator"""
    f = getattr(sub, name)

    def gen(seed: int) -> np.random.Generator:
        return np.random.Generator(getattr(np.random, bit_generator)(seed))

    try:
        first = as_weights(f(*SMALL, **SAMPLERS[name], rng=gen(7)), SMALL, name)
    except AssertionError as exc:  # what the student's code raised (blame.StudentError)
        if not getattr(exc, "raised", ()) or "NotImplementedError" in exc.raised:
            raise
        # numpy's legacy np.random.RandomState(rng) and np.random.seed(rng) take seeds only: a
        # Generator gives "TypeError: Cannot cast scalar from dtype('O') ...", a message that
        # names neither the argument nor its kind.
        raise AssertionError(
            f"{exc}\n\nHere rng was a numpy Generator ({bit_generator}), which every function must "
            "accept as well as None and an int seed: np.random.default_rng(rng) returns a "
            "Generator as it is (np.random.RandomState(rng) and np.random.seed(rng) take seeds "
            "only)."
        ) from None
    same = as_weights(f(*SMALL, **SAMPLERS[name], rng=gen(7)), SMALL, name)
    other = as_weights(f(*SMALL, **SAMPLERS[name], rng=gen(8)), SMALL, name)
    assert np.array_equal(first, same), (
        f"{name} gave different weights for two {bit_generator} generators in the same state: "
        "draw from the Generator passed as rng"
    )
    assert not np.array_equal(first, other), (
        f"{name} gave the same weights for generators in different states: rng is not used"
    )
    # The draws follow the formula whatever the generator (30 x 70 samples: the same z = 6
    # bounds, wider because there are fewer samples).
    std = {"xavier_uniform": torch_xavier_std(*SMALL, 1.0), "xavier_normal": torch_xavier_std(*SMALL, 2.0),
           "kaiming_uniform": kaiming_std(*SMALL, "relu", "fan_out"),
           "kaiming_normal": kaiming_std(*SMALL, "tanh", "fan_in")}[name]  # fmt: skip
    kind = "uniform" if name.endswith("uniform") else "normal"
    check_distribution(first, kind, std, f"{name}(rng={bit_generator} generator)")


# The notebook's order of every function's parameters, and a call's arguments by name: the same
# call by position must give the same values (an int seed makes both repeatable). torch orders
# kaiming_normal_(tensor, a, mode, nonlinearity): a signature copied from it takes
# kaiming_normal(300, 700, "tanh", "fan_out") for mode "tanh", which no call by keyword shows.
BY_POSITION = {
    "xavier_uniform": ("fan_in", "fan_out", "gain", "rng"),
    "xavier_normal": ("fan_in", "fan_out", "gain", "rng"),
    "kaiming_uniform": ("fan_in", "fan_out", "nonlinearity", "mode", "rng"),
    "kaiming_normal": ("fan_in", "fan_out", "nonlinearity", "mode", "rng"),
    "activation_norms": ("depth", "width", "sigma2", "n_samples", "rng"),
}
ARGUMENTS = {"fan_in": 30, "fan_out": 70, "gain": 2.0, "nonlinearity": "tanh", "mode": "fan_out",
             "rng": 5, "depth": 4, "width": 20, "sigma2": 0.1, "n_samples": 50}  # fmt: skip


@pytest.mark.points(1)
@pytest.mark.parametrize("name", BY_POSITION)
def test_arguments_by_position(sub, name):
    """the arguments given by position, in the order of the notebook's signature"""
    order = BY_POSITION[name]
    args = [ARGUMENTS[key] for key in order]
    f = getattr(sub, name)
    positional = f"{name}({', '.join(map(repr, args))})"
    by_name = f"{name}({', '.join(f'{k}={ARGUMENTS[k]!r}' for k in order)})"
    keep = "keep the notebook's signature, its parameters in its order"
    try:
        got = f(*args)
    except AssertionError as exc:  # what the student's code raised (blame.StudentError)
        if not getattr(exc, "raised", ()):
            raise
        f(**{k: ARGUMENTS[k] for k in order})  # fails too (not written yet, say): its own message
        raise AssertionError(f"{positional} failed, {by_name} did not: {keep}.\n{exc}") from None
    expected = f(**{k: ARGUMENTS[k] for k in order})
    if name == "activation_norms":
        got, expected = checked_norms(got, 4, 20), checked_norms(expected, 4, 20)
    else:
        got = as_weights(got, (30, 70), name)
        expected = as_weights(expected, (30, 70), name)
    if np.array_equal(got, expected):
        return
    # Only a function that repeats itself can tell its parameters' order: one that ignores rng
    # (the global np.random) differs from itself, and keeping its signature would not help.
    again = f(**{k: ARGUMENTS[k] for k in order})
    again = (
        checked_norms(again, 4, 20)
        if name == "activation_norms"
        else as_weights(again, (30, 70), name)
    )
    assert np.array_equal(again, expected), (
        f"{by_name} gave different values on a second call, so the order of its parameters "
        "cannot be checked: draw every random number from np.random.default_rng(rng), "
        "not from the global np.random"
    )
    raise AssertionError(
        f"{positional} differs from {by_name}: {keep} (the grader may pass arguments by position)"
    )


# ---- activation statistics across depth ----------------------------------------------------------

# One ReLU network of width n, depth 50, n_samples = 200 inputs x ~ N(0, I). Measured over 700
# networks of the reference (benchmark-free: tests/test_hw5_reference.py draws them again):
#   norms[0] / (sqrt(sigma2 / 2) n) has mean 0.991 and standard deviation 0.012 (width 100)
#   and 0.984, 0.019 (width 50): E ||relu(x W)||^2 = sigma2 n^2 / 2 for x ~ N(0, I_n);
#   log(norms[-1] / norms[0]) has standard deviation 0.70-0.78 whatever sigma2, and mean
#   -17.6 (sigma2 = 1/n), -0.65 (2/n), +9.3 (3/n): each layer multiplies the squared norm by
#   sigma2 n / 2 on average, i.e. 1/2, 1, 3/2.
SPREAD = 0.8  # the standard deviation of the log ratio over one network, rounded up
# Under sigma2 = 2/n (depth 50, width 100, 200 samples), the standard deviation over layers
# 21-50 of the per-layer log ratio log(norms[l + 1] / norms[l]): over 800 networks of the
# reference, mean 0.109 and standard deviation 0.015 (each layer's fresh W moves the norm by
# about 10%). With one W drawn once and used by every layer, the repeated map h -> relu(h W)
# settles into a fixed rate of growth: mean 0.007, standard deviation 0.007, at most 0.056.
LAYER_SPREAD, LAYER_SPREAD_SD = 0.109, 0.016


def norms_of(sub, depth, width, sigma2, seed, name="activation_norms"):
    got = sub.activation_norms(depth, width, sigma2, n_samples=200, rng=seed)
    return checked_norms(got, depth, width, name)


def checked_norms(got, depth, width, name="activation_norms"):
    # The norms are what the tests read: an array, or a list or tuple of the depth floats (the
    # norms appended in the loop and returned as they are: the public test and the notebook's
    # plots take those as well), NumPy's float32 ones included (a network computed in float32
    # appends np.float32 means). Nothing else is converted with np.asarray.
    floats = isinstance(got, (list, tuple)) and all(
        isinstance(v, (float, np.floating)) for v in got
    )
    arr = np.asarray(got, dtype=np.float64) if floats else got  # np.float64 is a float too
    shape = getattr(arr, "shape", None)
    assert isinstance(arr, np.ndarray) and shape == (depth,), (
        f"{name}({depth}, {width}, ...) should return an array of shape (depth,) = ({depth},), "
        f"one norm per layer, not {kind(got)}" + (f" of shape {shape}" if shape is not None else "")
    )
    assert np.issubdtype(arr.dtype, np.floating) and np.all(arr >= 0) and np.isfinite(arr).all(), (
        f"{name} should return finite, non-negative norms"
    )
    return arr.astype(np.float64)


@pytest.fixture(scope="session")
def kaiming_norms() -> dict[int, np.ndarray]:
    """activation_norms(50, 100, 2/100) by seed, for the two tests that read the same eight
    networks: each is computed once per grading run (a pytest session grades one submission)."""
    return {}


def kaiming_network(sub, cache: dict[int, np.ndarray], seed: int) -> np.ndarray:
    if seed not in cache:
        cache[seed] = norms_of(sub, 50, 100, 2.0 / 100, seed=seed)
    return cache[seed]


@pytest.mark.points(2)
@pytest.mark.parametrize(
    ("width", "sigma2"),
    [(100, 2 / 100), (50, 2 / 50), (100, 1 / 100)],
    ids=["100", "50", "100-1/n"],
)
def test_first_layer_norm(sub, width, sigma2):
    """activation_norms: the first layer's norm is sqrt(sigma2 / 2) * width"""
    # The ratio below does not depend on sigma2 (W = sqrt(sigma2) Z, and relu(c h) = c relu(h)
    # for c > 0), so the constants measured under 2/n hold for 1/n. Under 2/n alone, the norm
    # of the input x (about sqrt(width)) equals the expected first norm: 1/n shows a norm
    # recorded before each layer instead of after it (x, h_1, ..., h_{depth - 1}).
    norms = norms_of(sub, 5, width, sigma2, seed=31)
    ratio = norms[0] / (math.sqrt(sigma2 / 2) * width)
    # Mean 0.98-0.99, standard deviation <= 0.02: [0.85, 1.10] is 6.5 standard deviations from
    # the mean on either side; the norm before the ReLU (x sqrt(2)), a variance used as a
    # standard deviation, or inputs that are not N(0, I) fall far outside.
    assert 0.85 <= ratio <= 1.10, (
        f"activation_norms(5, {width}, {sigma2:g})[0] is {norms[0]:.4g}, expected about "
        f"{math.sqrt(sigma2 / 2) * width:.4g} = sqrt(sigma2 / 2) * width (the mean Euclidean norm "
        "of relu(x @ W) over the samples, x ~ N(0, I), W ~ N(0, sigma2))"
    )


def chi_mean(m: int) -> float:
    """E ||g|| for g ~ N(0, I_m): sqrt(2) Gamma((m + 1) / 2) / Gamma(m / 2) (0 for m = 0)."""
    return (
        0.0 if m == 0 else math.sqrt(2.0) * math.exp(math.lgamma((m + 1) / 2) - math.lgamma(m / 2))
    )


def expected_first_norm(width: int, sigma2: float) -> float:
    """E ||relu(x W)|| for x ~ N(0, I_width) and W (width, width) of N(0, sigma2) entries.

    Given x, the entries of x W are independent N(0, sigma2 ||x||^2) (W's columns are
    independent), so relu(x W) = sqrt(sigma2) ||x|| relu(g) with g ~ N(0, I_width) independent of
    ||x||; ||relu(g)|| is chi with m degrees of freedom when m entries of g are positive,
    m ~ Binomial(width, 1/2). Hence sqrt(sigma2) E chi_width sum_m C(width, m) 2^-width E chi_m."""
    binomial = sum(math.comb(width, m) * chi_mean(m) for m in range(width + 1)) / 2.0**width
    return math.sqrt(sigma2) * chi_mean(width) * binomial


# activation_norms(1, 2, sigma2, n_samples=200)[0] / sqrt(sigma2) over one network: mean 0.893
# (expected_first_norm), standard deviation 0.348 over 20,000 networks of the reference
# (tests/test_hw5_reference.py measures it again), rounded up. Width 2 because a narrow layer's
# per-sample norms spread widely, so their mean and their root mean square (0.707 against 1.253
# for width 1, 1.33 against 0.89 for width 2) or their median (0.54) are far apart; at width 100
# they differ by 1%, within one network's spread.
NARROW_NORM_SD = 0.35
NARROW_NETWORKS = 200


@pytest.mark.points(1)
def test_norm_is_the_mean_over_samples(sub):
    """activation_norms: each layer's entry is the mean over the samples of their norms (width 2)"""
    sigma2 = 0.25
    with sub.batch():  # one round trip, not 200
        got = [
            sub.activation_norms(1, 2, sigma2, n_samples=200, rng=1000 + k)
            for k in range(NARROW_NETWORKS)
        ]
    firsts = [checked_norms(sub.value(g), 1, 2)[0] for g in got]
    mean, expected = float(np.mean(firsts)), expected_first_norm(2, sigma2)
    # The mean of 200 networks has standard deviation 0.35 sqrt(sigma2) / sqrt(200): allowed
    # 6 of them (0.074 here). The root mean square of the samples' norms averages 0.66 over 200
    # networks, 8 of its own standard deviations (0.018) above the bound; the median 0.27.
    allowed = Z * NARROW_NORM_SD * math.sqrt(sigma2) / math.sqrt(NARROW_NETWORKS)
    assert abs(mean - expected) <= allowed, (
        f"activation_norms(1, 2, {sigma2}, n_samples=200)[0] is {mean:.4g} on average over "
        f"{NARROW_NETWORKS} networks, expected {expected:.4g} (within {allowed:.2g}): the mean over "
        "the samples of each sample's Euclidean norm, np.linalg.norm(h, axis=1).mean() (not the "
        "root mean square, the median, or the norm of the whole batch)"
    )


# One input of width 1 through one layer: the entry is relu(x w), exactly 0 when x w < 0, which
# has probability 1/2 whatever the seed and the order of the draws (x and w are independent and
# symmetric). Over 40 networks the count of zeros is Binomial(40, 1/2), outside [5, 35] with
# probability 2e-7. With n_samples ignored (the default 1,000 inputs drawn), the mean is 0 only
# if all 1,000 are zeroed (probability 2^-1000).
ONE_INPUT_NETWORKS = 40


@pytest.mark.points(1)
def test_n_samples_inputs(sub):
    """activation_norms: n_samples inputs (one input of width 1: zeroed by the ReLU half the time)"""
    with sub.batch():  # one round trip, not 40
        got = [
            sub.activation_norms(1, 1, 1.0, n_samples=1, rng=3000 + k)
            for k in range(ONE_INPUT_NETWORKS)
        ]
    firsts = [checked_norms(sub.value(g), 1, 1)[0] for g in got]
    zeros = sum(1 for v in firsts if v == 0.0)
    assert 5 <= zeros <= ONE_INPUT_NETWORKS - 5, (
        f"activation_norms(1, 1, 1.0, n_samples=1) was 0 for {zeros} of {ONE_INPUT_NETWORKS} seeds, "
        "where one input x and one weight w give relu(x w), 0 for half of them: draw n_samples "
        "inputs, standard_normal((n_samples, width)), then the weights, all from one generator "
        "(a second np.random.default_rng(rng) made from the same seed draws the inputs' numbers "
        "again as weights, so that x w = x^2 is never negative)"
    )


# The first layer's norm of one network of width 100 with 1,000 samples, from network to network:
# its relative standard deviation (std / mean) is 0.0082 over 1,000 networks of the reference
# (tests/test_hw5_reference.py measures it again). A ReLU applied before each layer's weights, to
# the input too (h = np.maximum(h, 0) @ W: the norms of the pre-activations relu(h) W), has the
# same mean at every layer, the same distribution for one sample (a Gaussian vector's length and
# direction are independent), the same zeros, and the same growth across depth: every other test
# passes it. But relu(x) has a mean, E relu(x) = 1 / sqrt(2 pi) in every entry, which all the
# samples share, so their norms move together with W: relative standard deviation 0.024 (300
# networks). Over 60 networks the sample estimate of 0.0082 exceeds 0.014 with probability
# P(chi2_59 > 59 (0.014 / 0.0082)^2 = 172) ~ 1e-12, and that of 0.024 stays below it with
# P(chi2_59 < 59 (0.014 / 0.024)^2 = 20) ~ 2e-8.
SPREAD_NETWORKS, FIRST_NORM_SPREAD, FIRST_NORM_SPREAD_BOUND = 60, 0.0082, 0.014


@pytest.mark.points(1)
def test_norms_are_of_relu_of_h_w(sub):
    """activation_norms: the norms of relu(h W) for independent inputs (not of relu(h) W)"""
    with sub.batch(timeout=30.0):  # one round trip; 60 networks take ~0.2 s in the reference
        got = [
            sub.activation_norms(1, 100, 2.0 / 100, n_samples=1000, rng=6000 + k)
            for k in range(SPREAD_NETWORKS)
        ]
    firsts = np.array([checked_norms(sub.value(g), 1, 100)[0] for g in got])
    mean = float(firsts.mean())
    spread = float(firsts.std(ddof=1)) / mean if mean > 0 else 0.0  # all 0: other tests say so
    assert spread <= FIRST_NORM_SPREAD_BOUND, (
        f"activation_norms(1, 100, 0.02, n_samples=1000)[0] varies by {spread:.2%} from network "
        f"to network ({SPREAD_NETWORKS} seeds), where the mean norm of relu(x @ W) over 1,000 "
        f"independent inputs x ~ N(0, I) varies by about {FIRST_NORM_SPREAD:.1%}: the samples' "
        "norms move together. Is the ReLU applied before the weights (h = np.maximum(h, 0) @ W)? "
        "Then the norms are those of the pre-activations relu(h) @ W, and the mean of relu(x), "
        "which every sample shares, moves them together. Each layer is h = relu(h @ W), its norm "
        "taken after the ReLU, starting from independent inputs "
        "standard_normal((n_samples, width))"
    )


@pytest.mark.points(2)
def test_lecture_experiment_shrinks_under_1_over_n(sub):
    """depth 50, width 100: activations vanish under sigma2 = 1/n"""
    norms = norms_of(sub, 50, 100, 1.0 / 100, seed=41)
    # log ratio ~ N(-17.6, 0.8^2): below log(1e-4) = -9.2 by 10 standard deviations.
    assert norms[-1] / norms[0] < 1e-4, (
        f"under sigma2 = 1/n the last layer's norm is {norms[-1] / norms[0]:.3g} times the "
        "first's; each layer should halve the squared norm (about 3e-8 after 50 layers)"
    )


@pytest.mark.points(2)
def test_lecture_experiment_explodes_under_3_over_n(sub):
    """depth 50, width 100: activations explode under sigma2 = 3/n"""
    norms = norms_of(sub, 50, 100, 3.0 / 100, seed=42)
    # log ratio ~ N(9.3, 0.8^2): above log(30) = 3.4 by 7 standard deviations.
    assert norms[-1] / norms[0] > 30, (
        f"under sigma2 = 3/n the last layer's norm is {norms[-1] / norms[0]:.3g} times the "
        "first's; each layer should multiply the squared norm by 3/2 (about 2.5e4 after 50)"
    )


@pytest.mark.points(3)
def test_lecture_experiment_stays_under_2_over_n(sub, kaiming_norms):
    """depth 50, width 100: activations keep their size under sigma2 = 2/n (Kaiming)"""
    logs = [np.log(norms[-1] / norms[0])
            for norms in (kaiming_network(sub, kaiming_norms, 50 + k) for k in range(8))]  # fmt: skip
    mean = float(np.mean(logs))
    # The mean of 8 networks' log ratios has standard deviation 0.8 / sqrt(8) = 0.28 around
    # -0.65: [-0.65 - 1.7, -0.65 + 1.7] is 6 standard deviations wide on each side, a factor
    # of 0.1 to 2.9 in the norm. sigma2 = 1/n or 3/n, a missing ReLU (x 2 per layer in the
    # squared norm) or the wrong variance are off by 9 or more.
    assert -0.65 - 6 * SPREAD / math.sqrt(8) <= mean <= -0.65 + 6 * SPREAD / math.sqrt(8), (
        f"under sigma2 = 2/n the last layer's norm is on average {math.exp(mean):.3g} times the "
        "first's (8 networks); it should stay within a small factor of it (about 0.5)"
    )


@pytest.mark.points(1)
def test_every_layer_draws_its_own_weights(sub, kaiming_norms):
    """activation_norms: every layer has its own random weights (depth 50, width 100, 2/n)"""
    # The lecture experiment's eight networks (the spread's distribution holds for any seeds).
    spreads = [np.diff(np.log(kaiming_network(sub, kaiming_norms, 50 + k)))[20:].std()
               for k in range(8)]  # fmt: skip
    # The mean of 8 networks' spreads has standard deviation 0.016 / sqrt(8) = 0.006 around
    # 0.109: the bound (0.052) is 10 of them below it, and almost 4 times the largest mean of 8
    # measured with one W for every layer (0.014 in 100 groups of 8).
    mean = float(np.mean(spreads))
    assert mean >= LAYER_SPREAD - 10 * LAYER_SPREAD_SD / math.sqrt(8), (
        f"from one layer to the next the norm changes by an almost constant factor (the log "
        f"ratios' spread over layers 21-50 is {mean:.3g}, expected about {LAYER_SPREAD}): draw a "
        "new W ~ N(0, sigma2) for every layer, not one W for the whole network"
    )


@pytest.mark.points(1)
def test_activation_norms_seeded(sub):
    """activation_norms: rng=None draws afresh; an int seed or a Generator makes them repeatable"""
    # No seed, fresh randomness: two networks of 4 x 20 x 20 continuous weights give the same
    # norms only if the generator was not fresh (`default_rng(rng or 0)` takes None for 0; the
    # samplers' own test_rng_none_and_int_seeds asks the same of them).
    assert not np.array_equal(
        norms_of(sub, 4, 20, 0.1, seed=None), norms_of(sub, 4, 20, 0.1, seed=None)
    ), (
        "activation_norms(..., rng=None) gave the same norms twice: without a seed every call "
        "draws afresh (np.random.default_rng(None); not `rng or 0`, which makes None the seed 0)"
    )
    first = norms_of(sub, 4, 20, 0.1, seed=5)
    assert np.array_equal(first, norms_of(sub, 4, 20, 0.1, seed=5)), (
        "activation_norms(..., rng=5) gave different norms on a second call: draw the inputs and "
        "the weights from np.random.default_rng(rng), not from the global np.random"
    )
    assert not np.array_equal(first, norms_of(sub, 4, 20, 0.1, seed=6)), (
        "activation_norms gave the same norms for rng=5 and rng=6: the seed is not used"
    )
    assert np.array_equal(norms_of(sub, 4, 20, 0.1, seed=0), norms_of(sub, 4, 20, 0.1, seed=0)), (
        "activation_norms(..., rng=0) gave different norms on a second call: the seed 0 is a "
        "seed too (test `rng is None`, not `not rng`)"
    )
    # A Generator crosses by value: two in the same state must give the same norms.
    from_generator = norms_of(sub, 4, 20, 0.1, seed=np.random.default_rng(7))
    assert np.array_equal(
        from_generator, norms_of(sub, 4, 20, 0.1, seed=np.random.default_rng(7))
    ), (
        "activation_norms gave different norms for two generators in the same state: draw from "
        "the Generator passed as rng"
    )
