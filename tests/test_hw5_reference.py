"""Homework 5 (weight initialization): the constants of the hidden tests' statistical checks,
measured again on the reference, in-process.

The hidden tests bound statistics of one random network (solutions/hw5_init/tests/test_hidden.py:
the first layer's norm, the log ratio of the last layer's norm to the first's) with means and
spreads measured once over hundreds of networks. This re-measures them on fewer networks, with
bounds wide enough for that smaller sample, so that a change of the reference or of numpy that
moves them fails here before it fails students."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.notebook import graded_cells

HW = get_homework("hw5")


@pytest.fixture(scope="module")
def reference() -> dict:
    namespace: dict = {}
    for cell in graded_cells(HW.master).cells:
        exec(compile(cell.source, "<reference>", "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


@pytest.fixture(scope="module")
def hidden():
    (path,) = HW.hidden_tests
    spec = importlib.util.spec_from_file_location("hw5_hidden_tests", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.slow
@pytest.mark.parametrize("width", [100, 50])
def test_first_layer_norm_constants(reference, width):
    sigma2 = 2.0 / width
    ratios = np.array([
        reference["activation_norms"](1, width, sigma2, n_samples=200, rng=seed)[0]
        / (math.sqrt(sigma2 / 2) * width)
        for seed in range(200)
    ])  # fmt: skip
    # The hidden test accepts [0.85, 1.10]: 6.5 standard deviations (<= 0.02) of a mean of 0.98-0.99.
    assert 0.975 <= ratios.mean() <= 0.995 and ratios.std() <= 0.022, (ratios.mean(), ratios.std())


@pytest.mark.slow
def test_log_ratio_constants(reference, hidden):
    logs = {}
    for k in (1, 2, 3):
        logs[k] = np.array([
            np.log((n := reference["activation_norms"](50, 100, k / 100, n_samples=200, rng=s))[-1] / n[0])
            for s in range(60)
        ])  # fmt: skip
    # Hidden tests: mean -17.6, -0.65, +9.3, spread <= SPREAD (0.8). Over 60 networks the sample
    # mean is within 4 x 0.8 / sqrt(60) = 0.41 of the true one, the sample std within ~30%.
    for k, mean in ((1, -17.6), (2, -0.65), (3, 9.3)):
        assert abs(logs[k].mean() - mean) <= 0.45, (k, logs[k].mean())
        assert logs[k].std() <= hidden.SPREAD * 1.3, (k, logs[k].std())


def test_generators_of_every_kind_reach_the_reference_as_generators(reference):
    for name in ("PCG64", "MT19937", "Philox", "SFC64"):
        a = reference["xavier_normal"](3, 4, rng=np.random.Generator(getattr(np.random, name)(1)))
        b = np.random.Generator(getattr(np.random, name)(1)).normal(0, math.sqrt(2 / 7), (3, 4))
        assert np.array_equal(a, b), name
