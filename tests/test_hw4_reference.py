"""Homework 4 (optimizers): the hidden tests' oracles, the reference, and the variants, in-process.

1. The torch configurations the hidden tests use as oracles are checked against direct NumPy
   loops of the course's definitions (the momentum mapping above all), and the direct Adam
   reference against torch where torch has a counterpart.
2. The hidden and public tests are run with pytest.main on the reference, the stub and every
   variant of variants.py, with `sub` an in-process stand-in (tests/inprocess_sub.py) over the
   trusted cells: the reference passes everything, the stub nothing, every bug fails at least
   one test (and so loses points: every test carries points), every unusual solution passes all.
   tests/test_homeworks.py does the same through the real grader.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from functools import cache
from types import ModuleType
from typing import Any

import nbformat
import numpy as np
import pytest
from inprocess_sub import InProcessSubmission, exec_cells

from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.stubgen import strip_solutions
from dlhw.autograder.variants import load_variants, variant_cells

HW = get_homework("hw4")
SOLUTION = re.compile(r"(?ms)^([ \t]*)# BEGIN SOLUTION[ \t]*\n.*?^[ \t]*# END SOLUTION[ \t]*$")
# float64 loops of 30 steps with fixed gradients: rounding differences of a few ulps per step
# that never grow (see the hidden tests' note); 1e-12 relative is ample, and the wrong mappings
# checked below differ by 1e-3 or more.
TOL = {"rtol": 1e-12, "atol": 1e-14}


def graded_sources() -> list[str]:
    return [c.source for c in graded_cells(HW.master).cells]


@cache
def hidden() -> ModuleType:
    (path,) = HW.hidden_tests
    spec = importlib.util.spec_from_file_location("hw4_hidden_tests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the notebook as a contract ---------------------------------------------------------------


def test_every_optimizer_has_solution_regions_inside_init_and_step() -> None:
    sources = graded_sources()
    for name in HW.classes:
        (source,) = [s for s in sources if f"class {name}:" in s]
        regions = SOLUTION.findall(source)
        assert regions == [" " * 8, " " * 8], f"{name}: one indented region in __init__ and step"
        assert "self.params = params" in strip_solutions(source), f"{name}: given to students"


@pytest.mark.slow
def test_the_whole_notebook_runs() -> None:
    """Every cell in order, the skipped ones too (training on Fashion-MNIST when it is there)."""
    nb = nbformat.read(HW.master, as_version=4)
    ns = exec_cells([c.source for c in nb.cells if c.cell_type == "code"], "hw4 notebook")
    A = ns["A"]
    for name, path in ns["paths"].items():  # every optimizer gets far down the quadratic
        start, end = path[0] @ A @ path[0], path[-1] @ A @ path[-1]
        assert end < 0.01 * start, name
    for name, losses in ns["curves"].items():  # {} without Fashion-MNIST
        assert losses[-50:].mean() < 0.5 * losses[:50].mean(), name


# --- the oracles against direct loops of the course's definitions -----------------------------


def numpy_loop(name: str, params: list, grads: list, h: dict[str, Any]) -> list[np.ndarray]:
    """The course's update rules, written out as plainly as possible (float64)."""
    thetas = [p.astype(np.float64) for p in params]
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in thetas]
    for t, step in enumerate(grads, start=1):
        for theta, (a, b), g in zip(thetas, state, step, strict=True):
            if name == "SGD":
                theta -= h["lr"] * g
            elif name == "Momentum":
                a[...] = h["beta"] * a + (1 - h["beta"]) * g
                theta -= h["lr"] * a
            elif name == "Nesterov":
                a[...] = h["momentum"] * a + g
                theta -= h["lr"] * (g + h["momentum"] * a)
            elif name == "Adagrad":
                a += g**2
                theta -= h["lr"] * g / (np.sqrt(a) + h["eps"])
            elif name == "RMSprop":
                a[...] = h["alpha"] * a + (1 - h["alpha"]) * g**2
                theta -= h["lr"] * g / (np.sqrt(a) + h["eps"])
            else:  # AdamW (Adam: numpy_adam_trajectory, checked against torch below)
                theta *= 1 - h["lr"] * h["weight_decay"]
                a[...] = h["beta1"] * a + (1 - h["beta1"]) * g
                b[...] = h["beta2"] * b + (1 - h["beta2"]) * g**2
                m_hat, v_hat = a / (1 - h["beta1"] ** t), b / (1 - h["beta2"] ** t)
                theta -= h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
    return thetas


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "AdamW"])
@pytest.mark.parametrize("which", ["SETTINGS", "DEFAULTS"])
def test_torch_oracle_matches_the_course_definition(name: str, which: str) -> None:
    h = hidden()
    hyper = {**h.DEFAULTS[name], **getattr(h, which)[name]}
    hyper.setdefault("lr", h.REQUIRED_LR.get(name))
    params, grads = h.problem(1, steps=30)
    got = h.torch_trajectory(name, params, grads, hyper)[-1]
    for a, b in zip(got, numpy_loop(name, params, grads, hyper), strict=True):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.torch
@pytest.mark.parametrize(
    "name", ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW"]
)
@pytest.mark.parametrize("inputs", ["other_shapes_problem", "zero_gradient_problem"])
def test_torch_oracle_matches_the_course_definition_on_other_inputs(name: str, inputs: str) -> None:
    """A 0-d parameter, and arrays and steps without gradients: torch steps them as the course's
    loops do (its per-parameter step counts advance together when every grad is a tensor)."""
    h = hidden()
    hyper = {**h.DEFAULTS[name], **h.SETTINGS[name]}
    params, grads = getattr(h, inputs)(5)
    got = h.torch_trajectory(name, params, grads, hyper)[-1]
    if name == "Adam":
        expected = h.numpy_adam_trajectory(params, grads, hyper)[-1]
    else:
        expected = numpy_loop(name, params, grads, hyper)
    for a, b in zip(got, expected, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.torch
def test_momentum_mapping_is_needed() -> None:
    """torch's SGD with dampening=beta (the obvious setting) is not the course's momentum: its
    first step is lr * g, not lr * (1 - beta) * g, and the gap beta^t g1 fades slowly."""
    import torch

    h = hidden()
    params, grads = h.problem(2, steps=30)
    course = numpy_loop("Momentum", params, grads, {"lr": 0.1, "beta": 0.9})
    tensors = [torch.tensor(p) for p in params]
    naive = torch.optim.SGD(tensors, lr=0.1, momentum=0.9, dampening=0.9, foreach=False)
    for step in grads:
        for tensor, g in zip(tensors, step, strict=True):
            tensor.grad = torch.tensor(g)
        naive.step()
    gap = max(np.abs(t.numpy() - c).max() for t, c in zip(tensors, course, strict=True))
    assert gap > 1e-3
    mapped = h.torch_trajectory("Momentum", params, grads, {"lr": 0.1, "beta": 0.9})[-1]
    for a, b in zip(mapped, course, strict=True):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.torch
@pytest.mark.parametrize("eps", [1e-8, 0.1])
def test_direct_adam_reference_matches_torch_with_bias_correction(eps: float) -> None:
    h = hidden()
    hyper = {**h.SETTINGS["Adam"], "eps": eps}
    params, grads = h.problem(3, steps=30)
    ours = h.numpy_adam_trajectory(params, grads, {**hyper, "bias_correction": True})
    for step_a, step_b in zip(ours, h.torch_trajectory("Adam", params, grads, hyper), strict=True):
        for a, b in zip(step_a, step_b, strict=True):
            np.testing.assert_allclose(a, b, **TOL)
    # Without it, the same code differs (by the factor the correction removes).
    raw = h.numpy_adam_trajectory(params, grads, {**hyper, "bias_correction": False})
    assert np.abs(raw[0][0] - ours[0][0]).max() > 1e-3


def test_problem_has_sparse_rows_and_shapes_of_every_kind() -> None:
    h = hidden()
    params, grads = h.problem(4)
    assert len(grads) >= 20 and len({p.shape for p in params}) == len(params) - 1
    embedding = np.array([step[3] for step in grads])  # (steps, rows, cols)
    zero_rows = (embedding == 0).all(axis=2)
    assert zero_rows[:15, 4:7].all() and not zero_rows[15:, 4:7].any()
    assert zero_rows[:, 8:].all() and not zero_rows[:, :4].any()


def test_other_inputs_have_what_their_tests_need() -> None:
    h = hidden()
    params, grads = h.other_shapes_problem(6)
    assert params[0].shape == () and isinstance(params[0], np.ndarray)
    assert all(g.shape == p.shape for step in grads for g, p in zip(step, params, strict=True))
    params, grads = h.zero_gradient_problem(6)
    without = [[not g.any() for g in step] for step in grads]
    assert all(step[0] for step in without[:4]) and not any(step[0] for step in without[4:9])
    assert all(without[9]) and not any(all(step) for i, step in enumerate(without) if i != 9)
    assert not any(any(step[1:]) for step in without[:4])  # while the other arrays have one


# --- the hidden tests on the reference, the stub and the variants, in-process -----------------


def _key(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    return value


def memoized(oracle: Any) -> Any:
    """`oracle` with its results kept, keyed by the arguments' contents (copies handed out)."""
    cache: dict[Any, Any] = {}

    def wrapper(*args: Any) -> Any:
        key = _key(args)
        if key not in cache:
            cache[key] = oracle(*args)
        return copy.deepcopy(cache[key])

    wrapper.cache = cache  # type: ignore[attr-defined]
    return wrapper


class SubPlugin:
    """Parametrizes `sub` over in-process submissions and records each test's outcome."""

    def __init__(self, subs: dict[str, InProcessSubmission]) -> None:
        self.subs = subs
        self.outcomes: dict[str, dict[str, bool]] = {name: {} for name in subs}
        self.messages: dict[str, dict[str, str]] = {name: {} for name in subs}
        self.without_points: set[str] = set()
        self.patched: list[tuple[Any, Any]] = []

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "sub" in metafunc.fixturenames:
            metafunc.parametrize("sub", list(self.subs.values()), ids=list(self.subs))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The oracles do not depend on the submission: compute each once, not once per variant
        (the real grader will replay recorded ones)."""
        for module in {getattr(item, "module", None) for item in session.items}:
            oracle = getattr(module, "torch_trajectory", None)
            if oracle is not None and not hasattr(oracle, "cache"):
                module.torch_trajectory = memoized(oracle)  # type: ignore[union-attr]
                self.patched.append((module, oracle))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Put the oracles back: the test modules stay imported, and a later grading run in this
        process (tests/test_oracles.py) must reach the real, recording oracle."""
        for module, oracle in self.patched:
            module.torch_trajectory = oracle  # type: ignore[union-attr]
        self.patched.clear()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        report = (yield).get_result()
        if report.when == "call" or report.failed:
            params = dict(item.callspec.params)  # type: ignore[attr-defined]
            sub = params.pop("sub")
            variant = next(n for n, s in self.subs.items() if s is sub)
            test = item.originalname + (
                f"[{'-'.join(map(str, params.values()))}]" if params else ""
            )
            if item.get_closest_marker("points") is None:
                self.without_points.add(test)
            key = f"{item.path.name}::{test}"
            self.outcomes[variant][key] = report.passed
            if report.failed:
                self.messages[variant][key] = report.longreprtext[-1500:]


def run_tests(cells: dict[str, list[str]]) -> dict[str, dict[str, bool]]:
    """Public and hidden tests on each set of cells: outcome of every test, by name."""
    subs = {name: InProcessSubmission(exec_cells(c, name), HW.classes) for name, c in cells.items()}
    plugin = SubPlugin(subs)
    files = [str(HW.public_tests), *map(str, HW.hidden_tests)]
    args = [
        "-o",
        "addopts=",
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
    ]
    args += files
    with np.errstate(all="ignore"):  # bugs divide by zero; the tests see the nan
        code = pytest.main(args, plugins=[plugin])
    assert code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), code
    assert not plugin.without_points, f"tests without points lose nothing: {plugin.without_points}"
    MESSAGES.update(plugin.messages)
    return plugin.outcomes


MESSAGES: dict[str, dict[str, str]] = {}  # variant -> failed test -> pytest's report, for debugging
VARIANTS = load_variants(HW)


@pytest.fixture(scope="module")
def reference_and_stub() -> dict[str, dict[str, bool]]:
    stub = [strip_solutions(s) for s in graded_sources()]
    return run_tests({"reference": graded_sources(), "stub": stub})


@pytest.fixture(scope="module")
def variants(reference_and_stub: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Every variant in one pytest session (about 15 s of CPU: slow on a shared machine)."""
    return run_tests({f"{v.kind}:{v.name}": variant_cells(HW, v) for v in VARIANTS})


@pytest.mark.torch
def test_reference_passes_every_test(reference_and_stub: dict[str, dict[str, bool]]) -> None:
    ref = reference_and_stub["reference"]
    assert len(ref) >= 60
    assert all(ref.values()), MESSAGES["reference"]


@pytest.mark.torch
def test_stub_fails_every_test(reference_and_stub: dict[str, dict[str, bool]]) -> None:
    assert reference_and_stub["stub"].keys() == reference_and_stub["reference"].keys()
    assert not any(reference_and_stub["stub"].values())


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=[f"{v.kind}-{v.name}" for v in VARIANTS])
def test_variant(
    reference_and_stub: dict[str, dict[str, bool]],
    variants: dict[str, dict[str, bool]],
    variant: Any,
) -> None:
    results = variants[f"{variant.kind}:{variant.name}"]
    assert results.keys() == reference_and_stub["reference"].keys()
    failed = sorted(t for t, ok in results.items() if not ok)
    if variant.kind == "bug":
        assert failed, f"{variant.name} passes every test"
    else:
        assert not failed, {t: MESSAGES[f"unusual:{variant.name}"][t] for t in failed}
