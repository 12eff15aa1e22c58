"""Public tests for homework 5 (weight initialization): run them on your notebook before submitting.

`sub` is your notebook's functions, run in a separate process by the grader. The expected values
below are computed by hand in the comments. The hidden tests check much more: every gain against
torch.nn.init, the distribution of the weights (mean, standard deviation, the exact bound of a
uniform, the whole distribution function) for several shapes, gains, nonlinearities and modes,
the rng argument as None, an int and numpy Generators of four kinds, and the depth experiment.
"""

from __future__ import annotations

import math

import numpy as np
import pytest


def returned(value, call):
    """What `call` returned, as an array; None (a function that forgot `return`) is said so,
    not as "shape ()", which np.asarray makes of it."""
    assert value is not None, f"{call} returned None (did the function forget to `return`?)"
    return np.asarray(value)


@pytest.mark.points(1)
def test_gains_by_hand(sub):
    """public: calculate_gain for relu (sqrt 2), tanh (5/3) and linear (1)"""
    for name, expected in (("relu", math.sqrt(2.0)), ("tanh", 5.0 / 3.0), ("linear", 1.0)):
        got = sub.calculate_gain(name)
        assert math.isclose(got, expected, rel_tol=1e-9), (
            f"calculate_gain({name!r}) is {got}, expected {expected}"
        )


@pytest.mark.points(1)
def test_xavier_uniform_shape_and_bound(sub):
    """public: xavier_uniform(20, 30) is (20, 30) and within sqrt(6 / 50)"""
    # bound = gain * sqrt(6 / (fan_in + fan_out)) = sqrt(6 / 50) = 0.3464...; 600 draws of
    # U(-0.346, 0.346) reach beyond 0.9 of the bound with probability 1 - 0.9^600 (certain).
    w = returned(sub.xavier_uniform(20, 30, rng=0), "xavier_uniform(20, 30, rng=0)")
    assert w.shape == (20, 30), f"shape {w.shape}, expected (fan_in, fan_out) = (20, 30)"
    bound = math.sqrt(6 / 50)
    assert np.abs(w).max() <= bound * (1 + 1e-6), "an entry is beyond the bound"
    assert np.abs(w).max() >= 0.9 * bound, "no entry comes near the bound: is sqrt(3) missing?"


@pytest.mark.points(1)
def test_kaiming_normal_shape_and_seed(sub):
    """public: kaiming_normal(40, 10) is (40, 10) and repeatable with a seed"""
    a = returned(sub.kaiming_normal(40, 10, rng=3), "kaiming_normal(40, 10, rng=3)")
    b = returned(sub.kaiming_normal(40, 10, rng=3), "kaiming_normal(40, 10, rng=3)")
    assert a.shape == (40, 10), f"shape {a.shape}, expected (fan_in, fan_out) = (40, 10)"
    assert np.array_equal(a, b), "the same seed should give the same weights"


@pytest.mark.points(1)
def test_activation_norms_shape(sub):
    """public: activation_norms(depth=4, ...) returns 4 positive norms"""
    call = "activation_norms(4, 10, 0.2, n_samples=50, rng=0)"
    norms = returned(sub.activation_norms(4, 10, 0.2, n_samples=50, rng=0), call)
    assert norms.shape == (4,), f"shape {norms.shape}, expected (depth,) = (4,)"
    assert np.all(norms > 0), "norms of ReLU activations of random inputs are positive"
