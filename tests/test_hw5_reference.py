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


def test_first_layer_ratio_does_not_depend_on_sigma2(reference):
    """The hidden first-layer test uses the constants measured under 2/n for 1/n too."""
    for seed in range(5):
        ratios = [
            reference["activation_norms"](1, 100, sigma2, n_samples=200, rng=seed)[0]
            / (math.sqrt(sigma2 / 2) * 100)
            for sigma2 in (2 / 100, 1 / 100)
        ]
        assert math.isclose(*ratios, rel_tol=1e-12), (seed, ratios)


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


def one_w_for_every_layer(depth: int, width: int, sigma2: float, seed: int) -> np.ndarray:
    """The bug the layer-spread test exists for: W drawn once and reused by every layer."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((200, width))
    W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
    norms = np.empty(depth)
    for layer in range(depth):
        h = np.maximum(h @ W, 0.0)
        norms[layer] = np.linalg.norm(h, axis=1).mean()
    return norms


@pytest.mark.slow
def test_layer_spread_constants(reference, hidden):
    def spread(norms: np.ndarray) -> float:
        return float(np.diff(np.log(norms))[20:].std())

    fresh = np.array(
        [
            spread(reference["activation_norms"](50, 100, 0.02, n_samples=200, rng=s))
            for s in range(60)
        ]
    )
    tied = np.array([spread(one_w_for_every_layer(50, 100, 0.02, s)) for s in range(60)])
    # Hidden test: mean 0.109, standard deviation <= LAYER_SPREAD_SD (0.016) per network; over 60
    # networks the sample mean is within 4 x 0.016 / sqrt(60) = 0.008 of the true one. One W for
    # every layer: mean 0.007 (0.007 / sqrt(60) = 0.001 for the mean of 60).
    assert abs(fresh.mean() - hidden.LAYER_SPREAD) <= 0.01, fresh.mean()
    assert fresh.std() <= hidden.LAYER_SPREAD_SD * 1.3, fresh.std()
    assert tied.mean() <= 0.02, tied.mean()


def relu_before_the_weights(width: int, sigma2: float, n_samples: int, seed: int) -> float:
    """The bug the first-norm spread test exists for, one layer: relu(x) @ W, the norm of the
    pre-activations (the input x relu'd too)."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n_samples, width))
    W = rng.normal(0.0, math.sqrt(sigma2), size=(width, width))
    return float(np.linalg.norm(np.maximum(h, 0.0) @ W, axis=1).mean())


@pytest.mark.slow
def test_first_norm_spread_constants(reference, hidden):
    firsts = np.array(
        [reference["activation_norms"](1, 100, 0.02, n_samples=1000, rng=s)[0] for s in range(200)]
    )
    pre = np.array([relu_before_the_weights(100, 0.02, 1000, s) for s in range(100)])
    # Hidden test: relative standard deviation 0.0082 (1,000 networks), bound 0.014 over 60.
    # Over 200 networks the estimate is within 4 / sqrt(400) = 20% of the true one; the bug's,
    # 0.024 over 300 networks, within 4 / sqrt(200) = 28% over 100.
    spread = firsts.std(ddof=1) / firsts.mean()
    assert abs(spread / hidden.FIRST_NORM_SPREAD - 1) <= 0.2, spread
    assert pre.std(ddof=1) / pre.mean() >= hidden.FIRST_NORM_SPREAD_BOUND * 1.2, pre.std()


def test_generators_of_every_kind_reach_the_reference_as_generators(reference):
    for name in ("PCG64", "MT19937", "Philox", "SFC64"):
        a = reference["xavier_normal"](3, 4, rng=np.random.Generator(getattr(np.random, name)(1)))
        b = np.random.Generator(getattr(np.random, name)(1)).normal(0, math.sqrt(2 / 7), (3, 4))
        assert np.array_equal(a, b), name


@pytest.mark.slow
def test_narrow_norm_constants(reference, hidden):
    """The mean-over-samples test: the reference's first norm at width 2 (per unit sqrt(sigma2))
    has the analytic mean expected_first_norm and a spread below NARROW_NORM_SD per network."""
    firsts = np.array(
        [reference["activation_norms"](1, 2, 1.0, n_samples=200, rng=s)[0] for s in range(2000)]
    )
    # Over 2,000 networks the sample mean is within 4 x 0.35 / sqrt(2000) = 0.031 of the true
    # one; the hidden test's constant (0.35) is the spread of 20,000 networks (0.348), rounded up.
    assert abs(firsts.mean() - hidden.expected_first_norm(2, 1.0)) <= 0.031, firsts.mean()
    assert 0.32 <= firsts.std() <= hidden.NARROW_NORM_SD, firsts.std()
    # sigma2 only scales it (relu(c h) = c relu(h)): the test's sigma2 = 0.25 gives half.
    assert math.isclose(
        reference["activation_norms"](1, 2, 0.25, n_samples=200, rng=7)[0],
        0.5 * reference["activation_norms"](1, 2, 1.0, n_samples=200, rng=7)[0],
        rel_tol=1e-12,
    )


def test_a_function_not_written_yet_is_not_blamed_on_its_signature(tmp_path):
    """The by-position test advises keeping the signature only when the same call by keyword
    works: on the stub, whose functions raise NotImplementedError, it says they are not written."""
    from dlhw.autograder.grading import grade

    results = grade(HW, HW.stub, tmp_path / "results.json").results
    by_position = [t for t in results["tests"] if "given by position" in t["name"]]
    assert len(by_position) == 5
    for test in by_position:
        assert test["status"] == "failed" and "is not implemented yet" in test["output"]
        assert "signature" not in test["output"], test["output"]


def test_a_function_that_ignores_rng_is_not_blamed_on_its_signature(grade_nb):
    """A function drawing from the global np.random differs from itself: the by-position test
    says so, and never advises keeping a signature the student kept."""
    from dlhw.autograder.variants import load_variants, variant_notebook

    (variant,) = [v for v in load_variants(HW) if v.name == "global_np_random"]
    results = grade_nb(variant_notebook(HW, variant), hw=HW).results
    (test,) = [
        t
        for t in results["tests"]
        if "given by position" in t["name"] and "[kaiming_normal]" in t["name"]
    ]
    assert test["status"] == "failed", test
    assert "default_rng(rng)" in test["output"] and "signature" not in test["output"], test


FORGETS_RETURN = {
    "kaiming_normal": """
        def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
            rng = np.random.default_rng(rng)
            W = rng.normal(0.0, kaiming_std(fan_in, fan_out, nonlinearity, mode), (fan_in, fan_out))
    """,
}


def test_a_function_that_forgot_to_return_is_told_so_here_and_in_the_self_check(grade_nb):
    """kaiming_normal without its `return` gives None: the public test said "shape (), expected
    (fan_in, fan_out) = (40, 10)" (np.asarray(None) has shape ()), locally and on Gradescope;
    both now say it returned None, as the hidden tests do."""
    from dlhw.autograder.selfcheck import run_checks
    from dlhw.autograder.variants import Variant, variant_cells, variant_notebook

    variant = Variant("kaiming_normal_forgets_return", "bug", FORGETS_RETURN)
    results = grade_nb(variant_notebook(HW, variant), hw=HW).results
    said = "returned None (did the function forget to `return`?)"
    (public,) = [t for t in results["tests"] if t["name"].startswith("public: kaiming_normal")]
    assert said in public["output"] and "shape ()" not in public["output"], public
    hidden = [t for t in results["tests"] if t["name"].startswith("kaiming_normal: N(0")]
    assert hidden and all("not None (did it forget to `return`?)" in t["output"] for t in hidden)

    namespace: dict = {"__name__": "student"}
    for source in variant_cells(HW, variant):
        exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 - the course's own variant
    (local,) = run_checks("kaiming_normal", namespace, folder=HW.assignment_dir)
    assert not local.passed and said in local.message, local
