"""Hidden tests of homework 4 (optimizers). Never shipped to students.

`sub` is the student's code behind the trust boundary: `opt = sub.Adam(params, lr=...)` makes the
optimizer in the student's process, `opt.step(grads)` sends the gradients, `opt.params` reads the
parameters back (by value). `sub.keep(array)` leaves an array in the student's process: passed to
the optimizer it is that very array, not a copy, and `.value` reads it back later. That is how
these tests see that the caller's arrays were updated in place and the gradients left alone.

Oracles (module-level functions of plain arrays, recorded by `autograder record-oracles hw4` in
recorded_oracles.npz beside this file, so a grading run never imports torch; CI recomputes them
with live torch, tests/test_oracles.py):
- `torch_trajectory`: torch.optim in float64, configured to match the course's definitions
  (`torch_optimizer` says how, and tests/test_hw4_reference.py checks the mapping itself against
  direct NumPy loops);
- `torch_restarted`: the same, with a second torch.optim object made on the same tensors part
  way (a new optimizer starts from zero state);
- `numpy_adam_trajectory`: a direct reference for Adam without bias correction, which torch
  lacks (the same code with bias correction is checked against torch);
- first steps derived by hand.

The gradients are fixed in advance (open loop, as a recorded oracle needs): rounding differences
add up over the steps but never grow. Several arrays of different shapes (two of the same shape, so
state shared between arrays shows) and an embedding whose rows are zero for many steps; elsewhere
parameters of other shapes (a 0-d one), arrays whose gradient is zero at first, a step where every
gradient is zero, and the hyperparameters given by position.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlhw.autograder.checks import assert_close
from dlhw.autograder.oracles import lazy_import, oracle

torch = lazy_import("torch")  # imported only when an oracle is computed live

pytestmark = [pytest.mark.visibility("visible")]

OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW")
SHAPES = ((6, 4), (4,), (6, 4), (10, 3))  # weights, a bias, weights again, an embedding
GRAD_SCALES = (1.0, 0.1, 3.0, 0.01)  # gradients of very different sizes per array
STEPS = 25

# The course's defaults, written out: the oracle never relies on torch's own defaults.
DEFAULTS: dict[str, dict[str, Any]] = {
    "SGD": {},
    "Momentum": {"beta": 0.9},
    "Nesterov": {"momentum": 0.9},
    "Adagrad": {"lr": 1e-2, "eps": 1e-10},
    "RMSprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8},
    "Adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "bias_correction": True},
    "AdamW": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},
}
# Hyperparameters away from the defaults, so that a hard-coded default shows; AdamW's decay is
# large enough that decay coupled to the gradient differs by far more than the tolerance.
SETTINGS: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.05},
    "Momentum": {"lr": 0.1, "beta": 0.8},
    "Nesterov": {"lr": 0.05, "momentum": 0.7},
    "Adagrad": {"lr": 0.3, "eps": 1e-10},
    "RMSprop": {"lr": 0.01, "alpha": 0.9, "eps": 1e-8},
    "Adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8},
    "AdamW": {"lr": 0.01, "beta1": 0.85, "beta2": 0.995, "eps": 1e-8, "weight_decay": 0.1},
}
REQUIRED_LR = {"SGD": 0.05, "Momentum": 0.1, "Nesterov": 0.05}  # these have no default lr
# The hyperparameters in the order of the notebook's signatures (which students must keep).
SIGNATURE_ORDER: dict[str, tuple[str, ...]] = {
    "SGD": ("lr",),
    "Momentum": ("lr", "beta"),
    "Nesterov": ("lr", "momentum"),
    "Adagrad": ("lr", "eps"),
    "RMSprop": ("lr", "alpha", "eps"),
    "Adam": ("lr", "beta1", "beta2", "eps", "bias_correction"),
    "AdamW": ("lr", "beta1", "beta2", "eps", "weight_decay"),
}
# Shapes the main problem lacks: a 0-d parameter (a learned scalar: `p[:]` cannot index it), a
# 3-d one, and axes of length 1.
OTHER_SHAPES = ((), (2, 3, 4), (1,), (3, 1))

# Tolerances. float64: the gradients are fixed, so each step adds rounding errors of a few ulps
# (1e-16 relative) that never grow; 25 steps in any order of operations stay below 1e-13, and
# rtol 1e-9 leaves a wide margin, while every mistake these tests exist for moves some parameter
# by 1e-5 or more. float32 against the float64 oracle: the parameters are rounded to float32
# (6e-8 relative) at every step and the update carries ~1e-6 relative error; 25 steps of that on
# parameters of size up to ~5 stay below 2e-5 absolute: rtol and atol 5e-5.
F64 = {"rtol": 1e-9, "atol": 1e-12}
F32 = {"rtol": 5e-5, "atol": 5e-5}


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def embedding_rows_seen(steps: int) -> np.ndarray:
    """(steps, 10) booleans: which embedding rows get a gradient at each step. Rows 0-3 every
    step; rows 4-6 only from step 16 on; row 7 at steps 4 and 19 only; rows 8-9 never."""
    seen = np.zeros((steps, 10), dtype=bool)
    seen[:, :4] = True
    seen[15:, 4:7] = True
    seen[[t for t in (3, 18) if t < steps], 7] = True
    return seen


def problem(
    seed: int, steps: int = STEPS, dtype: type = np.float64
) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial parameters and a fixed sequence of gradients (the bias's is zero on steps 6-12)."""
    r = rng(seed)
    params = [r.standard_normal(shape).astype(dtype) for shape in SHAPES]
    seen = embedding_rows_seen(steps)
    grads = []
    for t in range(steps):
        step = [
            (scale * r.standard_normal(shape)).astype(dtype)
            for shape, scale in zip(SHAPES, GRAD_SCALES, strict=True)
        ]
        step[3][~seen[t]] = 0.0
        if 5 <= t < 12:
            step[1][:] = 0.0
        grads.append(step)
    return params, grads


def other_shapes_problem(
    seed: int, steps: int = 10
) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Parameters of the shapes `problem` lacks (OTHER_SHAPES, a 0-d one first) and gradients."""
    r = rng(seed)
    params = [np.asarray(r.standard_normal(shape)) for shape in OTHER_SHAPES]
    grads = [[np.asarray(r.standard_normal(shape)) for shape in OTHER_SHAPES] for _ in range(steps)]
    return params, grads


def zero_gradient_problem(seed: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """`problem` over 15 steps, with no gradient for array 0 in its first 4 steps (a layer not in
    use yet) and none for any array at step 10 (a minibatch that reached no parameter)."""
    params, grads = problem(seed, steps=15)
    for step in grads[:4]:
        step[0][...] = 0.0
    for g in grads[9]:
        g[...] = 0.0
    return params, grads


# ---- oracles ---------------------------------------------------------------------------------


def torch_optimizer(name: str, tensors: list[torch.Tensor], hyper: dict[str, Any]) -> Any:
    """torch.optim configured to do exactly what the course's `name` does with `hyper`."""
    h = {**DEFAULTS[name], **hyper}
    if name == "SGD":
        return torch.optim.SGD(tensors, lr=h["lr"], foreach=False)
    if name == "Momentum":
        # Course: u <- beta u + (1 - beta) g, theta <- theta - lr u, u0 = 0. torch keeps
        # b <- beta b + (1 - dampening) g but sets b1 = g1 on the first step. With dampening 0,
        # b_t = u_t / (1 - beta) at every step (same recursion, b1 = g1 = u1 / (1 - beta)), so
        # the course's step lr u_t is torch's with learning rate lr (1 - beta).
        beta = h["beta"]
        return torch.optim.SGD(
            tensors, lr=h["lr"] * (1 - beta), momentum=beta, dampening=0, foreach=False
        )
    if name == "Nesterov":
        return torch.optim.SGD(
            tensors, lr=h["lr"], momentum=h["momentum"], dampening=0, nesterov=True, foreach=False
        )
    if name == "Adagrad":
        return torch.optim.Adagrad(tensors, lr=h["lr"], eps=h["eps"], foreach=False)
    if name == "RMSprop":
        return torch.optim.RMSprop(
            tensors, lr=h["lr"], alpha=h["alpha"], eps=h["eps"], foreach=False
        )
    betas = (h["beta1"], h["beta2"])
    if name == "Adam":
        if not h["bias_correction"]:
            raise ValueError("torch's Adam always corrects the bias: use numpy_adam_trajectory")
        return torch.optim.Adam(tensors, lr=h["lr"], betas=betas, eps=h["eps"], foreach=False)
    if name == "AdamW":
        return torch.optim.AdamW(
            tensors,
            lr=h["lr"],
            betas=betas,
            eps=h["eps"],
            weight_decay=h["weight_decay"],
            foreach=False,
        )
    raise ValueError(f"unknown optimizer {name}")


@oracle
def torch_trajectory(
    name: str, params: list[np.ndarray], grads: list[list[np.ndarray]], hyper: dict[str, Any]
) -> tuple[tuple[np.ndarray, ...], ...]:
    """The parameters after each step of torch.optim (float64) fed the given gradients (a
    tuple per step: what a recorded oracle can hold)."""
    tensors = [torch.tensor(p, dtype=torch.float64) for p in params]
    optimizer = torch_optimizer(name, tensors, hyper)
    trajectory = []
    for step in grads:
        for tensor, g in zip(tensors, step, strict=True):
            tensor.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        trajectory.append(tuple(t.detach().numpy().copy() for t in tensors))
    return tuple(trajectory)


@oracle
def torch_restarted(
    name: str,
    params: list[np.ndarray],
    grads: list[list[np.ndarray]],
    hyper: dict[str, Any],
    restart: int,
) -> tuple[np.ndarray, ...]:
    """The parameters after every step of `grads`, taken by one torch.optim object for the first
    `restart` steps and by a new one, made on the same tensors, for the rest (float64)."""
    tensors = [torch.tensor(p, dtype=torch.float64) for p in params]
    optimizer = torch_optimizer(name, tensors, hyper)
    for t, step in enumerate(grads):
        if t == restart:
            optimizer = torch_optimizer(name, tensors, hyper)  # fresh state, the same tensors
        for tensor, g in zip(tensors, step, strict=True):
            tensor.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
    return tuple(t.detach().numpy().copy() for t in tensors)


def numpy_adam_trajectory(
    params: list[np.ndarray], grads: list[list[np.ndarray]], hyper: dict[str, Any]
) -> list[list[np.ndarray]]:
    """Adam written out in float64, with or without bias correction (torch has only with)."""
    h = {**DEFAULTS["Adam"], **hyper}
    thetas = [p.astype(np.float64) for p in params]
    ms = [np.zeros_like(p) for p in thetas]
    vs = [np.zeros_like(p) for p in thetas]
    trajectory = []
    for t, step in enumerate(grads, start=1):
        for theta, m, v, g in zip(thetas, ms, vs, step, strict=True):
            m[...] = h["beta1"] * m + (1 - h["beta1"]) * g
            v[...] = h["beta2"] * v + (1 - h["beta2"]) * g * g
            m_hat, v_hat = m, v
            if h["bias_correction"]:
                m_hat, v_hat = m / (1 - h["beta1"] ** t), v / (1 - h["beta2"] ** t)
            theta -= h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
        trajectory.append([theta.copy() for theta in thetas])
    return trajectory


# ---- running the student's optimizer ---------------------------------------------------------


def checked_params(got: Any, like: list[np.ndarray], when: str) -> list[np.ndarray]:
    """`opt.params` as read, checked to be a list of as many arrays as `like`."""
    if not isinstance(got, (list, tuple)) or len(got) != len(like):
        raise AssertionError(
            f"{when}, opt.params should be the list of {len(like)} parameter arrays the optimizer "
            f"was given, but it is {type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else "")
        )
    return list(got)


def student_trajectory(
    sub: Any,
    name: str,
    params: list[np.ndarray],
    grads: list[list[np.ndarray]],
    *args: Any,
    **hyper: Any,
) -> list[list[np.ndarray]]:
    """The student's parameters (read through the object) after each step. The steps and reads
    go in one batch (one round trip for the whole trajectory, see docs/objects.md)."""
    with sub.batch():
        opt = getattr(sub, name)(params, *args, **hyper)
        after = []
        for step in grads:
            opt.step(step)
            after.append(opt.params)
    return [checked_params(sub.value(p), params, f"after step {t}") for t, p in enumerate(after, 1)]


def assert_trajectory(
    got: list[list[np.ndarray]],
    expected: list[list[np.ndarray]],
    tol: dict[str, float],
    dtype: Any = np.float64,
    note: str = "",
) -> None:
    """Step by step, array by array (each of the parameters' own dtype): the first difference
    is the one reported, ending with `note` when there is one."""
    for t, (got_t, exp_t) in enumerate(zip(got, expected, strict=True), start=1):
        for i, (g, e) in enumerate(zip(got_t, exp_t, strict=True)):
            name = f"params[{i}] (shape {e.shape}) after step {t}"
            assert_close(g, e, **tol, name=name, dtype=dtype, note=note)


def check_like_torch(sub: Any, name: str, seed: int, hyper: dict[str, Any], **kw: Any) -> None:
    params, grads = problem(seed, **kw)
    expected = torch_trajectory(name, params, grads, hyper)
    dtype = params[0].dtype
    got = student_trajectory(sub, name, params, grads, **hyper)
    if dtype != np.float64:
        assert_kept_dtype(got, dtype)
    assert_trajectory(got, expected, F64 if dtype == np.float64 else F32, dtype)


def assert_kept_dtype(got: list[list[np.ndarray]], dtype: Any) -> None:
    """The parameters keep their dtype at every step. An update in place cannot change it
    (p -= ... casts the update to p's dtype), so another dtype means opt.params holds new arrays,
    which "has dtype float64, expected float32" alone does not tell a student who writes p -= ..."""
    for t, step in enumerate(got, start=1):
        for i, p in enumerate(step):
            found = getattr(p, "dtype", None)
            if found is not None and found != np.dtype(dtype):
                raise AssertionError(
                    f"params[{i}] after step {t} has dtype {found}, expected {np.dtype(dtype)} "
                    f"like the array the optimizer was given: an update in place (p -= ..., "
                    f"p[...] = ...) keeps an array's dtype, so opt.params holds new arrays, "
                    f"not the caller's (a {found} copy made in __init__, such as "
                    f"np.asarray(p, dtype=float) or p.astype(...), or p = p - ... in step)"
                )


# ---- whole trajectories against torch.optim --------------------------------------------------


@pytest.mark.points(2)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_trajectory_like_torch(sub, name):
    """25 steps like torch.optim: several arrays, sparse rows, non-default settings"""
    check_like_torch(sub, name, seed=100 + OPTIMIZERS.index(name), hyper=SETTINGS[name])


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_default_hyperparameters(sub, name):
    """the course's default hyperparameters"""
    hyper = {"lr": REQUIRED_LR[name]} if name in REQUIRED_LR else {}  # only what has no default
    check_like_torch(sub, name, seed=200 + OPTIMIZERS.index(name), hyper=hyper)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_parameters_stay_float32(sub, name):
    """float32 parameters and gradients: float32 after every step, values as torch's"""
    check_like_torch(
        sub, name, seed=300 + OPTIMIZERS.index(name), hyper=SETTINGS[name], dtype=np.float32
    )


SHARED_NOTE = (
    "two optimizers were stepped in turn, and a third was made and stepped after 6 steps: each "
    "keeps its own state in the object (self.m = [...] in __init__), never in a class attribute, "
    "a module-level variable or a default argument"
)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_two_optimizers_do_not_share_state(sub, name):
    """two optimizers of one class, stepped in turn, each follow their own trajectory"""
    # Half-way, a third optimizer is made (on other arrays) and takes a step: state kept outside
    # the objects and reset by __init__ (a class-level dict emptied, or a class attribute
    # rebound, to start the new one afresh) would wipe the state of the two in use. Made before
    # any step, as the first two are, it goes unseen.
    (p1, g1), (p2, g2) = problem(400, steps=12), problem(401, steps=12)
    p3, g3 = problem(402, steps=1)
    hyper = SETTINGS[name]
    with sub.batch():  # one round trip for the steps and the reads
        opt1, opt2 = getattr(sub, name)(p1, **hyper), getattr(sub, name)(p2, **hyper)
        for t in range(12):
            if t == 6:
                getattr(sub, name)(p3, **hyper).step(g3[0])
            opt1.step(g1[t])
            opt2.step(g2[t])
        after = opt1.params, opt2.params
    for label, read, params, grads in (("first", after[0], p1, g1), ("second", after[1], p2, g2)):
        expected = torch_trajectory(name, params, grads, hyper)[-1]
        got = checked_params(sub.value(read), params, "after 12 steps")
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_close(
                g, e, **F64, name=f"the {label} optimizer's params[{i}] after 12 steps",
                note=SHARED_NOTE,
            )  # fmt: skip


# The second optimizer starts where the first left the caller's arrays: one that updates copies
# (or new arrays) fails here too, with values that look like state carried over.
RESTART_NOTE = (
    "the second optimizer starts from the arrays as the first optimizer left them, so the first "
    "must have updated the caller's arrays in place: if the in-place test fails, fix it first"
)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS[1:])  # SGD keeps no state
def test_a_new_optimizer_on_the_same_arrays_starts_afresh(sub, name):
    """a second optimizer made on the same arrays starts from zero state, not the first one's"""
    # Making a new optimizer is how a course notebook resets one (a new run, a new learning rate
    # phase). State kept outside the object, keyed by the arrays (a class-level or module-level
    # dict keyed by id(p), a mutable default argument), is found again by the second optimizer.
    # Without this test such state was caught only when a later test's arrays happened to reuse
    # an earlier test's ids: an error about shapes in an unrelated test, or none at all.
    params, grads = problem(450 + OPTIMIZERS.index(name), steps=10)
    with sub.batch():  # one round trip
        kept = [sub.keep(p) for p in params]
    with sub.batch():  # one round trip for the steps and the reads
        first = getattr(sub, name)(kept, **SETTINGS[name])
        for step in grads[:5]:
            first.step(step)
        second = getattr(sub, name)(kept, **SETTINGS[name])
        for step in grads[5:]:
            second.step(step)
        after = second.params
    expected = torch_restarted(name, params, grads, SETTINGS[name], 5)
    got = checked_params(sub.value(after), params, "after 5 steps of the second optimizer")
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        label = f"params[{i}] after 5 steps of the first optimizer and 5 of the second"
        assert_close(g, e, **F64, name=label, note=RESTART_NOTE)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_parameters_of_any_shape(sub, name):
    """parameters of any shape: a scalar (a 0-d array), a 3-d array, axes of length 1"""
    params, grads = other_shapes_problem(1000 + OPTIMIZERS.index(name))
    expected = torch_trajectory(name, params, grads, SETTINGS[name])
    got = student_trajectory(sub, name, params, grads, **SETTINGS[name])
    assert_trajectory(got, expected, F64)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS[1:])  # SGD keeps no state
def test_zero_gradients_are_steps_too(sub, name):
    """zero gradients are steps too: an array without a gradient at first, a step without any"""
    # The notebook: "an implementation may not skip zero gradients", and Adam's "one counter for
    # the optimizer (every array takes step t together)". Skipping an array until its first
    # non-zero gradient (with a step counter of its own, or AdamW's decay with it), or a whole
    # step whose gradients are all zero, goes unseen where every array has a gradient at step 1
    # and some array has one at every step, as in `problem`.
    params, grads = zero_gradient_problem(1100 + OPTIMIZERS.index(name))
    expected = torch_trajectory(name, params, grads, SETTINGS[name])
    got = student_trajectory(sub, name, params, grads, **SETTINGS[name])
    note = (
        "in steps 1-4 the gradient of params[0] is all zero, and in step 10 every gradient is: "
        "a zero gradient is a step like any other (state decays, the step counter advances)"
    )
    assert_trajectory(got, expected, F64, note=note)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_hyperparameters_by_position(sub, name):
    """the hyperparameters given by position, in the order of the notebook's signature"""
    # "Keep the class names and signatures exactly as given": a caller may write
    # Adam(params, 0.01, 0.8, 0.99). A reordered, keyword-only or **kwargs signature accepts
    # every keyword call the other tests make.
    hyper = {**DEFAULTS[name], **SETTINGS[name]}
    args = [hyper[key] for key in SIGNATURE_ORDER[name]]
    params, grads = problem(1200 + OPTIMIZERS.index(name), steps=10)
    expected = torch_trajectory(name, params, grads, hyper)
    got = student_trajectory(sub, name, params, grads, *args)
    call = f"{name}(params, {', '.join(map(repr, args))})"
    note = f"the optimizer was made as {call}: keep the notebook's signature, in its order"
    assert_trajectory(got, expected, F64, note=note)


# ---- the caller's arrays: updated in place; gradients untouched; nothing returned ------------


def unchanged_callers_array(i: int, held: Any, initial: np.ndarray) -> str:
    """Why the caller's params[i] did not move, told apart by what opt.params holds: when
    opt.params[i] moved, the optimizer's arrays are not the caller's (copied in __init__, or
    replaced in step), and "update in place" alone would puzzle a student who writes p -= ..."""
    head = f"after 8 steps, the array passed as params[{i}] has not changed: "
    mine = held[i] if isinstance(held, (list, tuple)) and len(held) > i else None
    if isinstance(mine, np.ndarray) and mine.shape == initial.shape:
        if not np.array_equal(mine, initial):
            return head + (
                f"opt.params[{i}] has moved, but it is no longer the caller's array: keep "
                "self.params = params as given (no copies: np.array(p), p.copy(), p.astype(...), "
                "np.asarray(p, dtype=...), copy.deepcopy(params)), never put new arrays in it "
                "(self.params = [p - ...], self.params[i] = p - ...), and update those very "
                "arrays in place (p -= ..., or p[...] = ...)"
            )
    return head + (
        "update the caller's arrays in place (p -= ..., or p[...] = ...), never replace them by "
        "new arrays (p = p - ... only rebinds a name)"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_the_callers_arrays_in_place(sub, name):
    """updates the very arrays it was given, in place"""
    params, grads = problem(500 + OPTIMIZERS.index(name), steps=8)
    with sub.batch():  # one round trip
        kept = [sub.keep(p) for p in params]  # the arrays the caller (a network) holds
    with sub.batch():  # one round trip for the steps and the reads
        opt = getattr(sub, name)(kept, **SETTINGS[name])
        for step in grads:
            opt.step(step)
        # Inside a block, reading a kept value back is queued too: sub.value of the result
        # after the block is the array as it was at this point.
        kept_after = [sub.value(k) for k in kept]
        params_after = opt.params
    expected = torch_trajectory(name, params, grads, SETTINGS[name])[-1]
    held = sub.value(params_after)
    for i, (k, e) in enumerate(zip(kept_after, expected, strict=True)):
        after = sub.value(k)
        if np.array_equal(after, params[i]):
            raise AssertionError(unchanged_callers_array(i, held, params[i]))
        assert_close(after, e, **F64, name=f"the caller's params[{i}] after 8 steps", dtype=e.dtype)
    for i, (p, e) in enumerate(
        zip(checked_params(sub.value(params_after), params, "after 8 steps"), expected, strict=True)
    ):
        assert_close(p, e, **F64, name=f"opt.params[{i}] after 8 steps")


@pytest.mark.points(1)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_never_modifies_the_gradients(sub, name):
    """leaves the gradient arrays unchanged, in its step and in later steps"""
    params, grads = problem(600 + OPTIMIZERS.index(name), steps=5)
    with sub.batch():  # one round trip
        kept = [[sub.keep(g) for g in step] for step in grads]
    with sub.batch():  # one round trip: each step, then its gradients read back at once
        opt = getattr(sub, name)(params, **SETTINGS[name])
        read_back = []
        for step in kept:
            opt.step(step)
            read_back.append([sub.value(k) for k in step])  # queued: as right after the step
        # Every step's gradients once more after the last step: state that is the caller's
        # array (a buffer set to the first gradient without a copy, as torch's momentum
        # buffer is but cloned) changes an earlier step's gradients in a later step.
        at_the_end = [[sub.value(k) for k in step] for step in kept]
        params_after = opt.params
    # Nothing may change them at all: exact comparisons.
    for t, (step, after) in enumerate(zip(grads, read_back, strict=True), start=1):
        for i, (g, k) in enumerate(zip(step, after, strict=True)):
            assert_close(sub.value(k), g, rtol=0, atol=0, name=f"grads[{i}] after step {t}")
    for t, (step, end) in enumerate(zip(grads, at_the_end, strict=True), start=1):
        for i, (g, k) in enumerate(zip(step, end, strict=True)):
            assert_close(
                sub.value(k), g, rtol=0, atol=0,
                name=f"step {t}'s grads[{i}] after all {len(grads)} steps",
            )  # fmt: skip
    # An optimizer that does nothing leaves the gradients alone too: the steps must be right.
    expected = torch_trajectory(name, params, grads, SETTINGS[name])[-1]
    for i, (p, e) in enumerate(
        zip(checked_params(sub.value(params_after), params, "after 5 steps"), expected, strict=True)
    ):
        assert_close(p, e, **F64, name=f"opt.params[{i}] after 5 steps")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_returns_none(sub, name):
    """step returns None (its work is the parameters updated in place)"""
    params, grads = problem(1300 + OPTIMIZERS.index(name), steps=3)
    with sub.batch():  # one round trip for the steps and the read
        opt = getattr(sub, name)(params, **SETTINGS[name])
        returned = [opt.step(step) for step in grads]
        after = opt.params
    for t, result in enumerate(returned, start=1):
        value = sub.value(result)
        if value is not None:
            raise AssertionError(
                f"step {t} returned a {type(value).__name__}: step should return None, as the "
                "notebook says (it updates the parameters in place; the caller reads nothing back)"
            )
    # Doing nothing returns None too: the steps must be right.
    expected = torch_trajectory(name, params, grads, SETTINGS[name])[-1]
    for i, (p, e) in enumerate(
        zip(checked_params(sub.value(after), params, "after 3 steps"), expected, strict=True)
    ):
        assert_close(p, e, **F64, name=f"opt.params[{i}] after 3 steps")


# ---- first steps, derived by hand ------------------------------------------------------------


def first_step(sub: Any, name: str, seed: int, **hyper: Any) -> tuple[list, list, list]:
    params, grads = problem(seed, steps=1)
    with sub.batch():  # one round trip
        opt = getattr(sub, name)(params, **hyper)
        opt.step(grads[0])
        after = opt.params
    return params, grads[0], checked_params(sub.value(after), params, "after the first step")


@pytest.mark.points(1)
def test_momentum_first_step_is_damped(sub):
    """Momentum: the first step is lr * (1 - beta) * g (u starts at 0)"""
    params, g, got = first_step(sub, "Momentum", 700, lr=0.5, beta=0.8)
    for i, (p, gi, after) in enumerate(zip(params, g, got, strict=True)):
        # u1 = 0.8 * 0 + 0.2 * g, one product: float64 rounding only.
        assert_close(after, p - 0.5 * 0.2 * gi, **F64, name=f"params[{i}] after the first step")


@pytest.mark.points(1)
def test_nesterov_first_step(sub):
    """Nesterov: the first step is lr * (1 + momentum) * g"""
    params, g, got = first_step(sub, "Nesterov", 701, lr=0.1, momentum=0.7)
    for i, (p, gi, after) in enumerate(zip(params, g, got, strict=True)):
        # v1 = g, step g + 0.7 v1 = 1.7 g.
        assert_close(after, p - 0.1 * 1.7 * gi, **F64, name=f"params[{i}] after the first step")


@pytest.mark.points(2)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_first_step_is_lr_times_sign(sub, name):
    """the first step moves every entry by lr * g / (|g| + eps) (the step counter starts at 1)"""
    hyper = {"lr": 0.01, "eps": 1e-3}  # eps this large shows where it is added
    if name == "AdamW":
        hyper["weight_decay"] = 0.5
    params, g, got = first_step(sub, name, 702, **hyper)
    decay = 1 - 0.01 * 0.5 if name == "AdamW" else 1.0
    for i, (p, gi, after) in enumerate(zip(params, g, got, strict=True)):
        # t = 1: m_hat = g and v_hat = g^2 exactly (up to rounding), so sqrt(v_hat) = |g|.
        expected = decay * p - 0.01 * gi / (np.abs(gi) + 1e-3)
        assert_close(after, expected, **F64, name=f"params[{i}] after the first step")


# ---- the traps a comparison at default settings misses ---------------------------------------


@pytest.mark.points(2)
@pytest.mark.parametrize("eps", [1e-3, 0.1])
def test_adam_eps_outside_the_square_root(sub, eps):
    """Adam with a large eps, added to sqrt(v_hat)"""
    check_like_torch(sub, "Adam", seed=800, hyper={**SETTINGS["Adam"], "eps": eps})


@pytest.mark.points(1)
@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "AdamW"])
def test_eps_outside_the_square_root(sub, name):
    """a large eps, added to the square root"""
    check_like_torch(sub, name, seed=801, hyper={**SETTINGS[name], "eps": 0.05})


@pytest.mark.points(2)
@pytest.mark.parametrize("eps", [1e-8, 0.01])
def test_adam_without_bias_correction(sub, eps):
    """Adam(bias_correction=False): 25 steps against a direct reference"""
    hyper = {**SETTINGS["Adam"], "eps": eps, "bias_correction": False}
    params, grads = problem(900)
    got = student_trajectory(sub, "Adam", params, grads, **hyper)
    assert_trajectory(got, numpy_adam_trajectory(params, grads, hyper), F64)


@pytest.mark.points(1)
def test_adam_bias_correction_true_explicitly(sub):
    """Adam(bias_correction=True) given explicitly is torch's Adam"""
    hyper = {**SETTINGS["Adam"], "bias_correction": True}
    params, grads = problem(901)
    got = student_trajectory(sub, "Adam", params, grads, **hyper)
    assert_trajectory(got, torch_trajectory("Adam", params, grads, hyper), F64)
