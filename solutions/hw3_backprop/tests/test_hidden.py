"""Hidden tests of homework 3 (manual backpropagation). Never shipped to students.

`sub` is the student's code behind the trust boundary (docs/objects.md): `sub.Linear(4, 3, rng=7)`
makes a module in the student's process, `forward`/`backward` send arrays and return arrays,
`lin.dW` reads an attribute back by value; operators on `sub.Value`s run the student's dunder
methods there. Large graphs are built inside `with sub.batch():` (one round trip per 4,096 steps).

Oracles (module-level functions of plain data, recorded by `autograder record-oracles hw3` in
recorded_oracles.npz beside this file, so a grading run never imports torch; CI recomputes them
with live torch, tests/test_oracles.py):
- `torch_module`: a stack of modules in torch float64 autograd, its output and the gradients of
  sum(G * output) with respect to the input and every parameter;
- `torch_loss`: torch's cross_entropy / mse_loss (mean reduction) and the prediction's gradient;
- `torch_network_loss`: a stack followed by a loss, the loss and its gradients with respect to
  the input and every parameter;
- `torch_program`: a `Value` expression graph given as plain data (a list of operations, each
  naming earlier nodes by index: see `random_program`), evaluated in torch float64 with every
  node's gradient retained.
Independently of torch, `numeric_grad` takes central differences of plain NumPy forward passes.

Tolerances (all float64):
- Against torch: rtol 1e-9, atol 1e-11. The student's arithmetic and torch's differ only in the
  order of operations; sums here have at most 64 terms of size <= ~10, so the rounding is below
  64 * 1.1e-16 * 10 ~ 1e-13 absolute (graphs: <= 50 operations, each within an ulp, derivatives
  bounded by the generator's domain rules, ~1e-12 relative). Every bug these tests exist for moves
  some number by 1e-3 or more.
- Central differences: h = 1e-6 on O(1) smooth functions is accurate to ~1e-8 (truncation h^2 ~
  1e-12 times the third derivative, rounding eps / h ~ 1e-10 times the function's scale, which is
  <= ~100 here); atol 1e-6 leaves a margin of 100 and no more. ReLU's kink: inputs are standard
  normal with fixed seeds, and none lies within h of 0 (P ~ 1e-6 per entry).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dlhw.autograder import checks
from dlhw.autograder.checks import assert_close
from dlhw.autograder.oracles import lazy_import, oracle

torch = lazy_import("torch")  # imported only when an oracle is computed live

pytestmark = [pytest.mark.visibility("visible")]

TORCH = {"rtol": 1e-9, "atol": 1e-11}  # see the module docstring
H = 1e-6  # central-difference step
NUMERIC_ATOL = 1e-6

# (batch, in, out): batch 1, non-square both ways, one square layer, a larger batch.
SHAPES = [(1, 3, 5), (7, 4, 2), (5, 6, 6), (16, 10, 3), (2, 1, 4)]
ACTIVATIONS = ("ReLU", "Sigmoid", "Tanh")
# A Linear that keeps its parameters under other names (makemore's self.weight, self.bias)
# ignores the test's W and b: its output differs for no reason the numbers alone would show.
SETS_W_AND_B = (
    "The test sets lin.W and lin.b before calling forward: forward and backward must use "
    "self.W and self.b (not parameters under other names)."
)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- oracles ---------------------------------------------------------------------------------


def _torch_activation(name: str, t: Any) -> Any:
    return {"ReLU": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh}[name](t)


def _torch_stack(layers: list, x: Any) -> tuple[Any, list]:
    """A stack given as data, ("Linear", W, b) or (activation name,), applied to the tensor x in
    torch float64 autograd: the output and the parameters (W, b of each Linear in order)."""
    out, params = x, []
    for layer in layers:
        if layer[0] == "Linear":
            W = torch.tensor(layer[1], dtype=torch.float64, requires_grad=True)
            b = torch.tensor(layer[2], dtype=torch.float64, requires_grad=True)
            params += [W, b]
            out = out @ W + b
        else:
            out = _torch_activation(layer[0], out)
    return out, params


@oracle
def torch_module(layers: list, X: np.ndarray, G: np.ndarray) -> tuple:
    """A stack given as data (see `_torch_stack`). Returns the output, the gradient of
    sum(G * output) with respect to X, and (dW, db) of each Linear in order."""
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    out, params = _torch_stack(layers, x)
    (out * torch.tensor(G, dtype=torch.float64)).sum().backward()
    grads = tuple(p.grad.numpy() for p in params)
    return (out.detach().numpy(), x.grad.numpy()) + grads


def _torch_loss(kind: str, p: Any, target: np.ndarray) -> Any:
    if kind == "ce":
        return torch.nn.functional.cross_entropy(p, torch.tensor(target, dtype=torch.int64))
    return torch.nn.functional.mse_loss(p, torch.tensor(target, dtype=torch.float64))


@oracle
def torch_loss(kind: str, pred: np.ndarray, target: np.ndarray) -> tuple:
    """torch's mean cross-entropy (target: labels) or mean squared error, and d loss / d pred."""
    p = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    loss = _torch_loss(kind, p, target)
    loss.backward()
    return float(loss.detach()), p.grad.numpy()


@oracle
def torch_network_loss(layers: list, X: np.ndarray, kind: str, target: np.ndarray) -> tuple:
    """A stack (see `_torch_stack`) followed by a loss (as `torch_loss`): the loss, its gradient
    with respect to X, and (dW, db) of each Linear in order."""
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    out, params = _torch_stack(layers, x)
    loss = _torch_loss(kind, out, target)
    loss.backward()
    return (float(loss.detach()), x.grad.numpy()) + tuple(p.grad.numpy() for p in params)


def apply(op: str, a: Any, b: Any, c: float, call: Any) -> Any:
    """One operation of a program on Python floats, torch tensors or student Values: arithmetic
    with operators (numbers on either side), anything else through `call(op, a, b)`."""
    arithmetic = {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
        "radd": lambda: c + a, "rsub": lambda: c - a, "rmul": lambda: c * a,
        "rdiv": lambda: c / a, "addc": lambda: a + c, "subc": lambda: a - c,
        "mulc": lambda: a * c, "divc": lambda: a / c, "pow": lambda: a**c, "neg": lambda: -a,
    }  # fmt: skip
    if op == "maxc":  # a.maximum(a plain number)
        return call("maximum", a, c)
    return arithmetic[op]() if op in arithmetic else call(op, a, b)


def _torch_call(op: str, a: Any, b: Any) -> Any:
    if op == "maximum":
        return torch.maximum(
            a, b if isinstance(b, torch.Tensor) else torch.tensor(b, dtype=a.dtype)
        )
    return getattr(torch, op)(a)


def _float_call(op: str, a: float, b: float) -> float:
    return {
        "exp": lambda: math.exp(a), "log": lambda: math.log(a), "tanh": lambda: math.tanh(a),
        "relu": lambda: max(a, 0.0), "sigmoid": lambda: 1 / (1 + math.exp(-a)),
        "maximum": lambda: max(a, b),
    }[op]()  # fmt: skip


def _value_call(op: str, a: Any, b: Any) -> Any:
    return a.maximum(b) if op == "maximum" else getattr(a, op)()


@oracle
def torch_program(leaves: list, ops: list) -> tuple:
    """Evaluate a program (see `random_program`) in torch float64: every node's value and the
    gradient of the last node with respect to it (0 where the last node does not depend on it)."""
    nodes = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in leaves]
    for op, inputs, const in ops:
        args = [nodes[i] for i in inputs] + [None]
        node = apply(op, args[0], args[1], const, _torch_call)
        node.retain_grad()
        nodes.append(node)
    nodes[-1].backward()
    values = np.array([float(n.detach()) for n in nodes])
    grads = np.array([0.0 if n.grad is None else float(n.grad) for n in nodes])
    return values, grads


# ---- inputs ----------------------------------------------------------------------------------

UNARY = ("neg", "exp", "log", "tanh", "relu", "sigmoid", "pow")
BINARY = ("add", "sub", "mul", "div", "maximum")
WITH_CONST = ("radd", "rsub", "rmul", "rdiv", "addc", "subc", "mulc", "divc")


def _plain(op: str, args: list[float], c: float) -> float | None:
    """The op in plain floats, or None where the generator's domain rules refuse it: values stay
    in [-100, 100], divisors and log's argument >= 0.25 away from 0, exp's argument <= 3, relu's
    and maximum's arguments >= 0.01 from their kink (no ties, no derivative at a corner)."""
    a = args[0]
    b = args[1] if len(args) > 1 else 0.0
    if op in ("div", "rdiv") and abs(b if op == "div" else a) < 0.25:
        return None
    if (op == "log" and a < 0.25) or (op == "exp" and a > 3) or (op == "relu" and abs(a) < 0.01):
        return None
    if op == "maxc" and abs(a - c) < 0.01:
        return None
    if (op == "maximum" and abs(a - b) < 0.01) or (op == "pow" and (a <= 0.25 and c != 2)):
        return None
    if op == "divc" and c == 0:
        return None
    result = apply(op, a, b, c, _float_call)
    return result if abs(result) <= 100 else None


def random_program(seed: int, n_leaves: int = 4, n_ops: int = 30) -> tuple[list, list]:
    """A random expression graph as plain data: leaf values, and operations (name, indices of the
    input nodes, constant). Inputs are drawn mostly from recent nodes but may be any earlier node
    (nodes are reused: forks), and both inputs may be the same node (a * a). The last operations
    add every node not yet used into the output, so that the whole graph reaches it."""
    r = rng(seed)
    leaves = [float(round(r.uniform(-2, 2), 3)) for _ in range(n_leaves)]
    values = list(leaves)
    ops: list = []
    while len(ops) < n_ops:
        kind = r.choice(["unary", "binary", "const"], p=[0.35, 0.4, 0.25])
        pick = lambda: int(max(0, len(values) - 1 - r.geometric(0.3) + 1))  # noqa: E731
        if kind == "unary":
            op, inputs = str(r.choice(UNARY)), [pick()]
            const = float(r.choice([2.0, 3.0, -1.0, 0.5])) if op == "pow" else 0.0
        elif kind == "binary":
            op, inputs, const = str(r.choice(BINARY)), [pick(), pick()], 0.0
        else:
            op, inputs = str(r.choice(WITH_CONST)), [pick()]
            const = float(r.choice([-1.5, 0.5, 2.0, 3.0]))
        value = _plain(op, [values[i] for i in inputs], const)
        if value is None:
            continue
        ops.append((op, inputs, const))
        values.append(value)
    # Sum every node nothing used yet into the output, so that the whole graph reaches it.
    used = {i for _, inputs, _ in ops for i in inputs}
    for i in range(len(values) - 1):
        if i not in used and abs(values[-1] + values[i]) <= 100:
            ops.append(("add", [len(values) - 1, i], 0.0))
            values.append(values[-1] + values[i])
    return leaves, ops


def run_program(sub: Any, leaves: list, ops: list) -> list:
    """Build the program's graph from the student's Values (in one batch) and call backward on
    its last node; returns the nodes (objects)."""
    with sub.batch(timeout=20.0):
        nodes = [sub.Value(v) for v in leaves]
        for op, inputs, c in ops:
            a = nodes[inputs[0]]
            b = nodes[inputs[1]] if len(inputs) > 1 else None
            node = apply(op, a, b, c, _value_call)
            nodes.append(node)
        nodes[-1].backward()
    return [sub.value(n) for n in nodes]


def check_program(sub: Any, leaves: list, ops: list, grads_of: int = 0, grads: str = "") -> None:
    """The program's node values against torch, and the grads of its first `grads_of` nodes (0:
    of every node), named `grads` in the feedback."""
    values, expected = torch_program(leaves, ops)
    nodes = run_program(sub, leaves, ops)
    assert_close(read_all(sub, nodes, "data"), values, **TORCH, name="the nodes' data")
    n = grads_of or len(nodes)
    got = read_all(sub, nodes[:n], "grad")
    note = "" if grads_of else culprit(got, expected, leaves, ops)
    if note:  # grads are wrong: say first if equal values are taken for the same node
        note = " ".join(filter(None, (merged_by_value(sub), note)))
    assert_close(got, expected[:n], **TORCH, name=grads or "the nodes' grads", note=note)


def merged_by_value(sub: Any) -> str:
    """A sentence when the student's code takes two different Values of equal data for one node
    (the classic cause: `__eq__` and `__hash__` by data, micrograd-style, with a visited set or
    a `_prev` set): topo_sort lists all 3 nodes of Value(2.0) + Value(3.0) and fewer of Value(2.0)
    + Value(2.0). "" otherwise, or when topo_sort does not even list the first (another mistake,
    which its own tests name). The grader cannot call `==` or `hash` on the student's objects:
    this asks topo_sort instead. Called only once a test has failed."""

    def listed(order: Any) -> int:
        return len({id(node) for node in sub.value(order)})

    try:  # the hint's own question: not the test's use of topo_sort, nor held against it, and
        # 2 s at most (two graphs of 3 nodes), not a full limit in each failed test
        with sub.aside(), sub.batch(timeout=2.0):
            orders = [
                sub.topo_sort(sub.Value(x) + sub.Value(y)) for x, y in ((2.0, 3.0), (2.0, 2.0))
            ]
        distinct, equal = listed(orders[0]), listed(orders[1])
    except Exception:  # noqa: BLE001 - only a hint: the test's own message stands
        return ""
    if distinct != 3 or equal >= 3:
        return ""
    return (
        f"Two different Values of equal data count as one node in your code: topo_sort(Value(2.0) "
        f"+ Value(2.0)) lists {equal} node{'s' if equal != 1 else ''}, not 3. Does Value define "
        "__eq__ and __hash__ by value? Then a set or dict (a visited set, _prev) merges different "
        "nodes of equal value, and one of them never gets its grad; compare nodes by identity "
        "(leave __eq__ and __hash__ to object, or key sets by id(node))."
    )


# How an operation of a program reads in the feedback, its inputs and constant filled in.
WRITTEN = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / {b}",
    "radd": "{c} + {a}", "rsub": "{c} - {a}", "rmul": "{c} * {a}", "rdiv": "{c} / {a}",
    "addc": "{a} + {c}", "subc": "{a} - {c}", "mulc": "{a} * {c}", "divc": "{a} / {c}",
    "pow": "{a} ** {c}", "neg": "-{a}", "maxc": "{a}.maximum({c})", "maximum": "{a}.maximum({b})",
}  # fmt: skip


def culprit(got: np.ndarray, expected: np.ndarray, leaves: list, ops: list) -> str:
    """Where a graph's wrong grads come from, for the feedback: "the nodes' grads: 9 of 48 entries
    differ" names no operation, and the student cannot see the graph. The last node (in the order
    built) whose grad is wrong has every node computed from it right, so the mistake is in how one
    of its users passes its share back (that user's _backward), or in backward's walk itself."""
    bad = np.flatnonzero(
        ~(np.abs(got - expected) <= TORCH["atol"] + TORCH["rtol"] * np.abs(expected))
    )
    if not bad.size:
        return ""
    k = int(bad[-1])
    if k == len(got) - 1:
        return "The output's own grad is wrong: backward() starts by setting it to 1."

    def written(j: int) -> str:
        op, inputs, c = ops[j - len(leaves)]
        a, b = (f"n{i}" for i in (inputs + inputs)[:2])
        return f"n{j} = " + WRITTEN.get(op, "{a}." + op + "()").format(a=a, b=b, c=f"{c:g}")

    users = [written(len(leaves) + j) for j, (_, inputs, _) in enumerate(ops) if k in inputs]
    if not users:  # random_program leaves a node out of the output when adding it overflows
        return (
            f"Number the nodes n0 to n{len(got) - 1} as the table does, in the order the test "
            f"built them: n{k}, the last one whose grad is wrong, is used by no operation, so "
            "the output does not depend on it and its grad stays 0: did backward() reach a node "
            "outside the output's graph, or keep a grad from an earlier backward?"
        )
    return (
        f"Number the nodes n0 to n{len(got) - 1} as the table does, in the order the test built "
        f"them (n0 to n{len(leaves) - 1} the leaves): the "
        f"last one whose grad is wrong is n{k}, and every node computed from it has the right "
        f"grad. So look at how {'; '.join(users)} pass{'es' if len(users) == 1 else ''} "
        f"{'its' if len(users) == 1 else 'their'} share back to n{k} (each _backward adds "
        "(+=) its input's local derivative times out.grad), or at the order in which backward() "
        "visits the nodes"
    )


# Why a node's data or grad may be a Value, for the feedback (float() of one said only "float()
# of an object of your submission was needed", naming neither the attribute nor the node).
NOT_A_NUMBER = {
    "grad": "A _backward that adds a Value to its input's grad (other * out.grad, where "
    "other.data * out.grad was meant) makes the grads Values",
    "data": "An operation that computes its output from Values rather than from their .data "
    "nests Values",
}


def read_all(sub: Any, nodes: list, name: str) -> np.ndarray:
    """The nodes' `name` ("data" or "grad") as floats; the first node whose attribute is not a
    number (an object of the submission, None) is named, numbered as culprit numbers them."""
    with sub.batch():
        pending = [getattr(n, name) for n in nodes]
    values = [sub.value(p) for p in pending]
    for k, v in enumerate(values):
        if not isinstance(v, (int, float, np.generic, np.ndarray)):
            what = "None" if v is None else f"a {type(v).__name__}"
            raise AssertionError(
                f"node n{k}'s .{name} is {what}, not a number (the nodes numbered n0, n1, ... in "
                f"the order the test built them, the leaves first): Value.data and Value.grad are "
                f"Python floats. {NOT_A_NUMBER[name]}."
            )
    return np.array([float(v) for v in values])


def numeric_grad(f: Any, x: np.ndarray) -> np.ndarray:
    """Central differences of the scalar function f at the array x (see the docstring)."""
    return checks.numeric_grad(f, x, eps=H)


NUMPY_ACT = {
    "ReLU": lambda z: np.maximum(z, 0.0),
    "Sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "Tanh": np.tanh,
}


# ---- modules ---------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_linear_init(sub):
    """Linear(in, out, rng): W (in, out) normal with std 1/sqrt(in), b (1, out) zeros, seeded, used"""
    first, again, other = sub.Linear(6, 3, rng=7), sub.Linear(6, 3, rng=7), sub.Linear(6, 3, rng=8)
    W, b = np.asarray(first.W), np.asarray(first.b)
    assert W.shape == (6, 3), f"W has shape {W.shape}, expected (in_features, out_features)"
    assert b.shape == (1, 3), f"b has shape {b.shape}, expected (1, out_features)"
    assert np.all(np.isfinite(W)) and np.any(W != 0), "W should be random, finite, not all zero"
    assert not np.any(b), "b should start at zero"
    assert np.array_equal(W, np.asarray(again.W)), (
        "Linear(..., rng=7) twice gave different W: draw W from a generator seeded with rng "
        "(np.random.default_rng(rng)), not from the global np.random"
    )
    assert not np.array_equal(W, np.asarray(other.W)), "rng=7 and rng=8 gave the same W"
    # The initial parameters are the ones forward uses (one matmul: rtol 1e-12).
    X = rng(0).standard_normal((2, 6))
    assert_close(first.forward(X), X @ W + b, rtol=1e-12, atol=1e-12, name="forward's output")
    # Its shape and dtype first: std() of a reply of any shape costs up to 16 times its size
    # (a 32 MiB bool array: two float64 temporaries of 256 MiB each, in the grader).
    big_W = np.asarray(sub.Linear(400, 300, rng=3).W)
    assert big_W.shape == (400, 300), f"Linear(400, 300).W has shape {big_W.shape}"
    assert big_W.dtype.kind == "f", f"Linear(400, 300).W has dtype {big_W.dtype}, not float"
    # 120,000 draws: the sample std of N(0, s^2) has relative standard error 1/sqrt(2N) = 0.2%.
    # A 5% band is 25 standard errors wide (a correct init fails with probability < 1e-100),
    # while 1/in, 1/sqrt(out), sqrt(2/in) or no scaling are off by 13% or more.
    assert_close(big_W.std(), 1 / np.sqrt(400), rtol=0.05, atol=0, name="W's std")
    # A normal, not only its std: a uniform of the same std, U(-sqrt(3 / in), sqrt(3 / in)), has
    # no entry beyond sqrt(3) standard deviations, where a normal has P(|z| > sqrt(3)) = 8.33%
    # of them. Over 120,000 draws that share has standard error sqrt(0.0833 * 0.9167 / 120,000)
    # = 0.08%: the band [6%, 11%] is 28 standard errors from 8.33% on either side, and a std
    # off by the 5% allowed above moves the share by less than 1.5%.
    beyond = float(np.mean(np.abs(big_W) > math.sqrt(3.0) / math.sqrt(400)))
    assert 0.06 <= beyond <= 0.11, (
        f"{beyond:.1%} of Linear(400, 300)'s weights lie beyond sqrt(3) / sqrt(in_features), "
        "where a normal with standard deviation 1 / sqrt(in_features) puts 8.3% of them: draw W "
        "from a normal distribution (the notebook's), not a uniform with the same spread"
    )


@pytest.mark.points(1)
def test_linear_init_rng_none_and_generator(sub):
    """Linear(in, out, rng): None draws fresh weights, a numpy Generator is drawn from"""
    # Two fresh draws of 18 continuous values coincide only if the generator was not fresh.
    fresh, again = np.asarray(sub.Linear(6, 3).W), np.asarray(sub.Linear(6, 3, rng=None).W)
    assert not np.array_equal(fresh, again), (
        "Linear(6, 3) twice gave the same W: with rng=None each layer needs fresh weights "
        "(np.random.default_rng(None)), or every layer of a network starts alike"
    )
    # A Generator crosses by value (dlhw.autograder.wire.generators): each call gets a fresh
    # copy in the state the test made it in, so two generators seeded alike must give one W.
    lin = sub.Linear(6, 3, rng=rng(7))
    first, b = np.asarray(lin.W), np.asarray(lin.b)
    same = np.asarray(sub.Linear(6, 3, rng=rng(7)).W)
    other = np.asarray(sub.Linear(6, 3, rng=rng(8)).W)
    assert np.array_equal(first, same), (
        "Linear gave different W for two generators in the same state: draw from the Generator "
        "passed as rng (np.random.default_rng(rng) returns it as it is)"
    )
    assert not np.array_equal(first, other), (
        "Linear gave the same W for generators in different states: rng is not used"
    )
    # The drawn parameters are the ones forward uses (one matmul: rtol 1e-12).
    X = rng(1).standard_normal((2, 6))
    assert_close(lin.forward(X), X @ first + b, rtol=1e-12, atol=1e-12, name="forward's output")


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"B{b}_{i}x{o}" for b, i, o in SHAPES])
def test_linear_against_torch(sub, shape):
    """Linear: output, dX, dW and db against torch autograd (float64)"""
    batch, n_in, n_out = shape
    r = rng(100 + n_in * 10 + n_out)
    X, W, b = (
        r.standard_normal((batch, n_in)),
        r.standard_normal((n_in, n_out)),
        r.standard_normal((1, n_out)),
    )
    G = r.standard_normal((batch, n_out))
    out_t, dX_t, dW_t, db_t = torch_module([("Linear", W, b)], X, G)
    lin = sub.Linear(n_in, n_out, rng=0)
    lin.W, lin.b = W, b
    assert_close(lin.forward(X), out_t, **TORCH, name="forward's output", note=SETS_W_AND_B)
    assert_close(lin.backward(G), dX_t, **TORCH, name="backward's return value (dX)")
    assert_close(lin.dW, dW_t, **TORCH, name="dW")
    assert_close(lin.db, db_t, **TORCH, name="db")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES[:3], ids=[f"B{b}_{i}x{o}" for b, i, o in SHAPES[:3]])
def test_linear_central_differences(sub, shape):
    """Linear: dX, dW and db against central differences of sum(G * output)"""
    batch, n_in, n_out = shape
    r = rng(200 + batch)
    X, W, b = (
        r.standard_normal((batch, n_in)),
        r.standard_normal((n_in, n_out)),
        r.standard_normal((1, n_out)),
    )
    G = r.standard_normal((batch, n_out))
    lin = sub.Linear(n_in, n_out, rng=1)
    lin.W, lin.b = W, b
    lin.forward(X)
    dX = lin.backward(G)

    def loss(X_: np.ndarray, W_: np.ndarray, b_: np.ndarray) -> float:
        return float(np.sum(G * (X_ @ W_ + b_)))

    for got, wrt, f in [
        (dX, X, lambda x: loss(x, W, b)),
        (lin.dW, W, lambda w: loss(X, w, b)),
        (lin.db, b, lambda c: loss(X, W, c)),
    ]:
        name = {id(X): "dX", id(W): "dW", id(b): "db"}[id(wrt)]
        assert_close(got, numeric_grad(f, wrt), rtol=0, atol=NUMERIC_ATOL, name=name)


@pytest.mark.points(2)
@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 5), (6, 3)], ids=["B1", "B6"])
def test_activation(sub, name, shape):
    """Activations: forward and backward against torch and central differences"""
    r = rng(300 + shape[0])
    X = 2.0 * r.standard_normal(shape)
    G = r.standard_normal(shape)
    out_t, dX_t = torch_module([(name,)], X, G)
    module = getattr(sub, name)()
    assert_close(module.forward(X), out_t, **TORCH, name=f"{name}.forward")
    dX = module.backward(G)
    assert_close(dX, dX_t, **TORCH, name=f"{name}.backward")
    numeric = numeric_grad(lambda x: float(np.sum(G * NUMPY_ACT[name](x))), X)
    assert_close(dX, numeric, rtol=0, atol=NUMERIC_ATOL, name=f"{name}.backward (numerically)")


@pytest.mark.points(1)
def test_relu_at_zero(sub):
    """ReLU: the derivative at exactly 0 is 0 (module and Value, as torch.relu)"""
    # Tolerance 0: every expected number is a copy of an input, 0 or 1 (no rounding anywhere).
    relu = sub.ReLU()
    X = np.array([[0.0, -1.0, 2.0], [0.0, 0.0, 3.0]])
    assert_close(relu.forward(X), np.maximum(X, 0.0), rtol=0, atol=0, name="ReLU.forward")
    assert_close(
        relu.backward(np.ones_like(X)), (X > 0) * 1.0, rtol=0, atol=0, name="ReLU.backward"
    )
    values, grads = torch_program([0.0], [("relu", [0], 0.0)])
    nodes = run_program(sub, [0.0], [("relu", [0], 0.0)])
    assert_close(read_all(sub, nodes, "grad"), grads, rtol=0, atol=0, name="Value.relu's grads")


# Inputs far out on both sides, where exp overflows: the sigmoid's and tanh's values are 0, 1 or
# -1 there and their derivatives 0, as torch returns them. tanh written as (e^2x - 1) / (e^2x + 1)
# is inf / inf = nan from x ~ 355 on, the sigmoid as e^x / (1 + e^x) from x ~ 709; the notebook's
# 1 / (1 + exp(-x)) only overflows to 1 / inf = 0, the right value (a RuntimeWarning, no error).
LARGE_INPUTS = np.array([[-1000.0, -400.0, -40.0, -0.3], [0.7, 40.0, 400.0, 1000.0]])


@pytest.mark.points(1)
@pytest.mark.parametrize("name", ("Sigmoid", "Tanh"))
def test_activation_large_inputs(sub, name):
    """Sigmoid and Tanh: inputs of size up to 1000 (exp overflows), forward and backward"""
    G = rng(310).standard_normal(LARGE_INPUTS.shape)
    out_t, dX_t = torch_module([(name,)], LARGE_INPUTS, G)
    module = getattr(sub, name)()
    note = (
        f"{name} must return the right value for any input: written with exp(x) or exp(2x), it "
        "computes inf / inf = nan for large x. Use np.tanh, or exp of -|x| only (as the "
        "notebook's sigmoid does)"
    )
    # The input is kept in the worker and read back after forward: clipping it in place against
    # the overflow (np.clip(X, -500, 500, out=X)) gives the right values, but changes the
    # caller's array only where |x| is large, which test_forward_leaves_its_input_unchanged's
    # inputs (of size ~2) never are.
    with sub.batch():
        kept = sub.keep(LARGE_INPUTS)
    with sub.batch():
        out = module.forward(kept)
        after = sub.value(kept)  # queued: the input as forward left it
    # Values rounded to 0, +-1 or ~1e-17 (e^-40): well inside atol 1e-11 either way.
    assert_close(sub.value(out), out_t, **TORCH, name=f"{name}.forward", note=note)
    assert_close(module.backward(G), dX_t, **TORCH, name=f"{name}.backward", note=note)
    assert_unchanged(
        sub.value(after),
        LARGE_INPUTS,
        f"the array given to {name}.forward",
        "forward changed the array it was given where its entries are large (clipped in "
        "place, np.clip(X, -500, 500, out=X)?): compute on a new array (np.clip(X, -500, 500)), "
        "or use exp of -|x| only, which cannot overflow.",
    )


@pytest.mark.points(0.5)
@pytest.mark.parametrize("name", ("Linear", *ACTIVATIONS))
def test_forward_leaves_its_input_unchanged(sub, name):
    """Modules: forward leaves the array it is given unchanged"""
    # The notebook: never change an array you are given in place. A ReLU that clips its input
    # (X[X < 0] = 0, np.maximum(X, 0, out=X)) returns the right output and backward, and in the
    # course's networks does no harm to the module before it (a Tanh's cached output is changed
    # only where the ReLU's mask stops the gradient anyway), so no network test sees it; but the
    # caller's array changes: a training loop's minibatch X[i:i + B] is a view of the data set.
    r = rng(340 + ("Linear", *ACTIVATIONS).index(name))
    X, W, b = 2.0 * r.standard_normal((4, 3)), r.standard_normal((3, 3)), r.standard_normal((1, 3))
    layers = [("Linear", W, b)] if name == "Linear" else [(name,)]
    expected = torch_module(layers, X, np.ones((4, 3)))
    module = module_of(sub, name, W, b)
    with sub.batch():
        kept = sub.keep(X)
    with sub.batch():
        out = module.forward(kept)
        after = sub.value(kept)  # queued: the input as forward left it
    assert_close(sub.value(out), expected[0], **TORCH, name=f"{name}.forward's output")
    assert_unchanged(
        sub.value(after),
        X,
        f"the array given to {name}.forward",
        "forward changed the array it was given (X[X < 0] = 0, np.maximum(X, 0, out=X), "
        "X *= ...): compute the output in a new array (np.maximum(X, 0), np.where(...)).",
    )


def module_of(sub: Any, name: str, W: np.ndarray, b: np.ndarray) -> Any:
    """The submission's module `name`; a Linear (3 -> 3) with the test's W and b."""
    module = sub.Linear(3, 3, rng=0) if name == "Linear" else getattr(sub, name)()
    if name == "Linear":
        module.W, module.b = W, b
    return module


def assert_unchanged(after: Any, given: np.ndarray, name: str, note: str) -> None:
    """A kept array as read back after the student's code ran: exactly as the test gave it (an
    untouched array is bit for bit the same)."""
    assert_close(after, given, rtol=0, atol=0, name=name, note=note)


# Said when a network's numbers are off: the cause may be one of the modules it runs.
MODULES = (
    "Sequential runs your Linear and activation modules: if their own tests fail, fix them first"
)


@pytest.mark.points(3)
@pytest.mark.parametrize("batch", [1, 8], ids=["B1", "B8"])
def test_sequential_against_torch(sub, batch):
    """Sequential(Linear, ReLU, Linear, Tanh, Linear, Sigmoid): output, dX, every dW and db"""
    r = rng(400 + batch)
    sizes = [5, 7, 4, 3]  # non-square layers: a reversed backward cannot even fit the shapes
    params = [
        (r.standard_normal((a, b)) / np.sqrt(a), r.standard_normal((1, b)))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    X, G = r.standard_normal((batch, sizes[0])), r.standard_normal((batch, sizes[-1]))
    layers = [("Linear", *params[0]), ("ReLU",), ("Linear", *params[1]), ("Tanh",),
              ("Linear", *params[2]), ("Sigmoid",)]  # fmt: skip
    expected = torch_module(layers, X, G)
    linears = []
    for (n_in, n_out), (W, b) in zip(zip(sizes[:-1], sizes[1:], strict=True), params, strict=True):
        lin = sub.Linear(n_in, n_out, rng=0)
        lin.W, lin.b = W, b
        linears.append(lin)
    net = sub.Sequential(linears[0], sub.ReLU(), linears[1], sub.Tanh(), linears[2], sub.Sigmoid())
    assert_close(net.forward(X), expected[0], **TORCH, name="the network's output", note=MODULES)
    assert_close(
        net.backward(G), expected[1], **TORCH, name="backward's return value (dX)", note=MODULES
    )
    for i, lin in enumerate(linears):
        assert_close(lin.dW, expected[2 + 2 * i], **TORCH, name=f"layer {i + 1}'s dW", note=MODULES)
        assert_close(lin.db, expected[3 + 2 * i], **TORCH, name=f"layer {i + 1}'s db", note=MODULES)


@pytest.mark.points(1)
def test_backward_uses_the_latest_forward(sub):
    """Modules: backward uses the cache of the most recent forward"""
    r = rng(450)
    X1, X2, W, b = (
        r.standard_normal((3, 4)),
        r.standard_normal((3, 4)),
        r.standard_normal((4, 2)),
        np.zeros((1, 2)),
    )
    G = r.standard_normal((3, 2))
    _, dX_t, dW_t, _ = torch_module([("Linear", W, b), ("Tanh",)], X2, G)
    lin, tanh = sub.Linear(4, 2, rng=0), sub.Tanh()
    lin.W, lin.b = W, b
    net = sub.Sequential(lin, tanh)
    net.forward(X1)
    net.forward(X2)
    assert_close(net.backward(G), dX_t, **TORCH, name="dX after two forwards")
    assert_close(lin.dW, dW_t, **TORCH, name="dW after two forwards")


@pytest.mark.points(1)
def test_second_backward_replaces_the_gradients(sub):
    """Linear: a second forward and backward give that batch's dW and db, not a running sum"""
    # The notebook's training loop steps with lin.dW after every backward and never zeroes it,
    # so dW and db must be the latest batch's gradients (torch's accumulation would need a
    # zero_grad that the course's modules do not have).
    r = rng(460)
    W, b = r.standard_normal((4, 3)), r.standard_normal((1, 3))
    X1, G1 = r.standard_normal((5, 4)), r.standard_normal((5, 3))
    X2, G2 = r.standard_normal((2, 4)), r.standard_normal((2, 3))
    _, dX_t, dW_t, db_t = torch_module([("Linear", W, b)], X2, G2)
    lin = sub.Linear(4, 3, rng=0)
    lin.W, lin.b = W, b
    lin.forward(X1)
    lin.backward(G1)
    lin.forward(X2)
    assert_close(lin.backward(G2), dX_t, **TORCH, name="the second backward's dX")
    assert_close(lin.dW, dW_t, **TORCH, name="dW after the second backward")
    assert_close(lin.db, db_t, **TORCH, name="db after the second backward")


@pytest.mark.points(1)
def test_sequential_second_training_step(sub):
    """Sequential: a second forward and backward (the training loop's next step) run in order"""
    # The notebook's training loop calls forward and backward on one Sequential again and again.
    # A backward that reverses self.modules in place (self.modules.reverse(), then a loop over
    # them) is right once: the next forward runs the layers last to first. The other tests call
    # backward once per network. Non-square layers: a reversed forward cannot fit the shapes.
    r = rng(465)
    W1, b1 = r.standard_normal((4, 3)), r.standard_normal((1, 3))
    W2, b2 = r.standard_normal((3, 2)), r.standard_normal((1, 2))
    X1, G1 = r.standard_normal((5, 4)), r.standard_normal((5, 2))
    X2, G2 = r.standard_normal((6, 4)), r.standard_normal((6, 2))
    layers = [("Linear", W1, b1), ("Tanh",), ("Linear", W2, b2)]
    out_t, dX_t, dW1_t, db1_t, dW2_t, db2_t = torch_module(layers, X2, G2)
    first, second = sub.Linear(4, 3, rng=0), sub.Linear(3, 2, rng=0)
    first.W, first.b, second.W, second.b = W1, b1, W2, b2
    net = sub.Sequential(first, sub.Tanh(), second)
    net.forward(X1)
    net.backward(G1)
    note = (
        "forward and backward are called again and again on one network: leave self.modules as "
        f"it is (iterate over reversed(self.modules) in backward). {MODULES}"
    )
    assert_close(net.forward(X2), out_t, **TORCH, name="the second forward's output", note=note)
    assert_close(net.backward(G2), dX_t, **TORCH, name="the second backward's dX", note=note)
    for name, got, want in (
        ("first layer's dW", first.dW, dW1_t),
        ("first layer's db", first.db, db1_t),
        ("second layer's dW", second.dW, dW2_t),
        ("second layer's db", second.db, db2_t),
    ):
        assert_close(got, want, **TORCH, name=f"the {name} after the second step", note=note)


@pytest.mark.points(1)
@pytest.mark.parametrize("batch", [1, 6], ids=["B1", "B6"])
def test_sequential_of_activations(sub, batch):
    """Sequential with activations one after another: output, dX, every dW and db"""
    # An activation's input is here the previous activation's output, which that module may
    # have cached for its backward (tanh' = 1 - t^2 from the output t, sigmoid' = s (1 - s)):
    # a forward that overwrites its input in place (np.tanh(X, out=X), X[X < 0] = 0) corrupts
    # that cache and the gradients come out wrong. Sigmoid follows Tanh, Tanh follows Sigmoid,
    # and ReLU follows a Tanh whose outputs are of both signs.
    r = rng(470 + batch)
    W1, b1 = r.standard_normal((4, 5)) / 2.0, r.standard_normal((1, 5))
    W2, b2 = r.standard_normal((5, 5)), r.standard_normal((1, 5))
    W3, b3 = r.standard_normal((5, 3)) / np.sqrt(5), r.standard_normal((1, 3))
    X, G = r.standard_normal((batch, 4)), r.standard_normal((batch, 3))
    layers = [("Linear", W1, b1), ("Tanh",), ("Sigmoid",), ("Tanh",), ("Linear", W2, b2),
              ("Tanh",), ("ReLU",), ("Linear", W3, b3)]  # fmt: skip
    expected = torch_module(layers, X, G)
    linears = [sub.Linear(*W.shape, rng=0) for W in (W1, W2, W3)]
    for lin, W, b in zip(linears, (W1, W2, W3), (b1, b2, b3), strict=True):
        lin.W, lin.b = W, b
    net = sub.Sequential(linears[0], sub.Tanh(), sub.Sigmoid(), sub.Tanh(), linears[1],
                         sub.Tanh(), sub.ReLU(), linears[2])  # fmt: skip
    assert_close(net.forward(X), expected[0], **TORCH, name="the network's output", note=MODULES)
    assert_close(
        net.backward(G), expected[1], **TORCH, name="backward's return value (dX)", note=MODULES
    )
    for i, lin in enumerate(linears):
        assert_close(lin.dW, expected[2 + 2 * i], **TORCH, name=f"layer {i + 1}'s dW", note=MODULES)
        assert_close(lin.db, expected[3 + 2 * i], **TORCH, name=f"layer {i + 1}'s db", note=MODULES)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_cache_is_per_object_and_latest(sub, name):
    """Activations: two objects, two forwards each: each backward uses its own latest forward"""
    # A cache kept on the class (`cache = {}` in the class body is one dict for every object)
    # or set only by the first forward goes unnoticed in a network with one module of the class
    # (the other tests' networks have one ReLU and one Sigmoid); a network with two ReLUs would
    # backpropagate through the wrong mask. Same shapes throughout: wrong values, not errors.
    r = rng(480 + ACTIVATIONS.index(name))
    X1, X2, X3, X4 = (2.0 * r.standard_normal((4, 3)) for _ in range(4))
    G1, G2 = r.standard_normal((4, 3)), r.standard_normal((4, 3))
    out1, dX1 = torch_module([(name,)], X2, G1)
    out2, dX2 = torch_module([(name,)], X4, G2)
    first, second = getattr(sub, name)(), getattr(sub, name)()
    first.forward(X1)
    assert_close(first.forward(X2), out1, **TORCH, name=f"the first {name}'s second forward")
    second.forward(X3)
    assert_close(second.forward(X4), out2, **TORCH, name=f"the second {name}'s second forward")
    assert_close(
        first.backward(G1), dX1, **TORCH,
        name=f"the first {name}'s backward (after the second {name}'s forwards)",
    )  # fmt: skip
    assert_close(second.backward(G2), dX2, **TORCH, name=f"the second {name}'s backward")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("name", ("Linear", *ACTIVATIONS))
def test_backward_leaves_grad_out_unchanged(sub, name):
    """Modules: backward leaves the gradient it is given unchanged"""
    # The notebook: never change an array you are given in place. "Deep Learning from Scratch"'s
    # Relu zeroes the incoming gradient and returns it (dout[self.mask] = 0; return dout): its
    # dX is right, and every other test sends the gradient by value, so only a gradient kept in
    # the student's process shows it. Harmless in a chain of fresh arrays, it corrupts a loss
    # whose backward returns its own cached gradient (self.dx, CS231n's softmax_loss), so the
    # next backward() is wrong. The dX is checked too (a kept value alone is worth little).
    r = rng(495 + ("Linear", *ACTIVATIONS).index(name))
    X, G = 2.0 * r.standard_normal((4, 3)), r.standard_normal((4, 3))
    W, b = r.standard_normal((3, 3)), r.standard_normal((1, 3))
    layers = [("Linear", W, b)] if name == "Linear" else [(name,)]
    expected = torch_module(layers, X, G)
    module = module_of(sub, name, W, b)
    with sub.batch():
        kept = sub.keep(G)
    with sub.batch():
        module.forward(X)
        dX = module.backward(kept)
        after = sub.value(kept)  # queued: the gradient as backward left it
    assert_close(sub.value(dX), expected[1], **TORCH, name=f"{name}.backward's return value (dX)")
    assert_unchanged(
        sub.value(after),
        G,
        f"the gradient given to {name}.backward",
        "backward changed the array it was given (grad_out[...] = 0, grad_out *= ...): "
        "compute dX in a new array (grad_out * mask, np.where(...), grad_out.copy()).",
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_loss_cache_is_per_object_and_latest(sub, kind):
    """Losses: two objects, two forwards each: each backward uses its own latest forward"""
    # As for the activations: a loss whose cache lives on the class, or is set only by its first
    # forward, passes every test that makes one loss object and calls forward once.
    r = rng(490 + (kind == "mse"))
    cls = sub.SoftmaxCrossEntropy if kind == "ce" else sub.MSELoss

    def inputs() -> tuple[np.ndarray, np.ndarray]:
        if kind == "ce":
            return 3.0 * r.standard_normal((4, 5)), r.integers(0, 5, size=4)
        return r.standard_normal((4, 3)), r.standard_normal((4, 3))

    (P1, T1), (P2, T2), (P3, T3), (P4, T4) = (inputs() for _ in range(4))
    loss1, d1 = torch_loss(kind, P2, T2)
    loss2, d2 = torch_loss(kind, P4, T4)
    first, second = cls(), cls()
    first.forward(P1, T1)
    assert_close(first.forward(P2, T2), loss1, **TORCH, name="the first loss's second forward")
    second.forward(P3, T3)
    assert_close(second.forward(P4, T4), loss2, **TORCH, name="the second loss's second forward")
    assert_close(
        first.backward(), d1, **TORCH,
        name="the first loss's backward (after the second loss's forwards)",
    )  # fmt: skip
    assert_close(second.backward(), d2, **TORCH, name="the second loss's backward")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(1, 3), (8, 10), (5, 2)], ids=["B1_k3", "B8_k10", "B5_k2"])
def test_softmax_cross_entropy(sub, shape):
    """SoftmaxCrossEntropy: the mean loss and dlogits against torch"""
    r = rng(500 + shape[0])
    Z, y = 3.0 * r.standard_normal(shape), r.integers(0, shape[1], size=shape[0])
    loss_t, dZ_t = torch_loss("ce", Z, y)
    ce = sub.SoftmaxCrossEntropy()
    assert_close(ce.forward(Z, y), loss_t, **TORCH, name="the loss")
    assert_close(ce.backward(), dZ_t, **TORCH, name="backward's dlogits")


@pytest.mark.points(1)
def test_softmax_cross_entropy_large_logits(sub):
    """SoftmaxCrossEntropy: logits of size 1000 (exp overflows without the max-shift)"""
    # Three labels' logits lie 1,179 to 1,322 below their row's maximum: the log of the shifted
    # softmax is log(0) = -inf there (exp underflows below -745); the notebook's
    # m + log sum exp(z - m) stays finite.
    r = rng(550)
    Z, y = 1000.0 * r.standard_normal((4, 5)), np.array([0, 1, 2, 3])
    loss_t, dZ_t = torch_loss("ce", Z, y)
    ce = sub.SoftmaxCrossEntropy()
    # The loss is ~1e3: rounding of the shifted logits is ~1e3 * 1e-16, inside rtol 1e-9.
    assert_close(ce.forward(Z, y), loss_t, **TORCH, name="the loss")
    assert_close(ce.backward(), dZ_t, **TORCH, name="backward's dlogits")


@pytest.mark.points(2)
@pytest.mark.parametrize(
    "shape", [(1, 1), (6, 3), (4, 7), (5,), (2, 3, 2)], ids=["1x1", "6x3", "4x7", "1d", "3d"]
)
def test_mse_loss(sub, shape):
    """MSELoss: the mean over every entry and dpred against torch (any shape)"""
    r = rng(600 + shape[-1])
    pred, target = r.standard_normal(shape), r.standard_normal(shape)
    loss_t, d_t = torch_loss("mse", pred, target)
    mse = sub.MSELoss()
    assert_close(mse.forward(pred, target), loss_t, **TORCH, name="the loss")
    assert_close(mse.backward(), d_t, **TORCH, name="backward's dpred")


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_loss_backward_twice(sub, kind):
    """Losses: a second backward() after the same forward returns the same gradient"""
    # backward() returns the gradient of the most recent forward from that forward's cache, so
    # calling it again (a gradient check, a second look) must find the cache as it was. A
    # backward that subtracts the one-hot from the cached softmax in place (G = self.P;
    # G[rows, y] -= 1) or scales the cached difference (self.diff *= 2 / N) is right once only.
    r = rng(650 + (kind == "mse"))
    if kind == "ce":
        pred, target = 3.0 * r.standard_normal((5, 4)), r.integers(0, 4, size=5)
        loss = sub.SoftmaxCrossEntropy()
    else:
        pred, target = r.standard_normal((5, 4)), r.standard_normal((5, 4))
        loss = sub.MSELoss()
    _, d_t = torch_loss(kind, pred, target)
    loss.forward(pred, target)
    assert_close(loss.backward(), d_t, **TORCH, name="the first backward's gradient")
    assert_close(loss.backward(), d_t, **TORCH, name="the second backward's gradient")


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_loss_after_an_activation(sub, kind):
    """A network ending in Tanh or Sigmoid, then the loss: the loss, dX, dW and db of one step"""
    # As the notebook's training step runs them, in the student's process (one batch): the loss's
    # forward gets the network's output itself, which a Tanh or Sigmoid also keeps for its
    # backward (1 - t^2, s (1 - s) from the output). A loss that changes its prediction in place
    # (logits -= logits.max(...), pred -= target) changes that cache: the loss comes out right,
    # the network's gradients wrong. (Alone, each loss gets a copy of the test's array.)
    r = rng(660 + (kind == "mse"))
    W, b = r.standard_normal((4, 3)), r.standard_normal((1, 3))
    X = r.standard_normal((5, 4))
    act = "Tanh" if kind == "ce" else "Sigmoid"
    target = r.integers(0, 3, size=5) if kind == "ce" else r.random((5, 3))
    loss_t, dX_t, dW_t, db_t = torch_network_loss([("Linear", W, b), (act,)], X, kind, target)
    lin = sub.Linear(4, 3, rng=0)
    lin.W, lin.b = W, b
    net = sub.Sequential(lin, getattr(sub, act)())
    loss = sub.SoftmaxCrossEntropy() if kind == "ce" else sub.MSELoss()
    with sub.batch():
        value = loss.forward(net.forward(X), target)
        dX = net.backward(loss.backward())
        dW, db = lin.dW, lin.db
    note = (
        f"The loss's forward is given the {act}'s output itself, which the {act} keeps for its "
        "backward: a loss that changes its prediction in place (logits -= ..., pred -= target) "
        f"changes that cache too. {MODULES}"
    )
    assert_close(value.value, loss_t, **TORCH, name="the loss")
    assert_close(dX.value, dX_t, **TORCH, name="the network's dX", note=note)
    assert_close(dW.value, dW_t, **TORCH, name="dW", note=note)
    assert_close(db.value, db_t, **TORCH, name="db", note=note)


# ---- Value -----------------------------------------------------------------------------------

LECTURE = ([-2.0, 5.0, -4.0, 2.0], [("mul", [0, 1], 0.0), ("maximum", [2, 3], 0.0),
                                    ("add", [4, 5], 0.0), ("rmul", [6], 2.0)])  # fmt: skip


@pytest.mark.points(2)
def test_lecture_example_every_gradient(sub):
    """Value: f = 2 (x y + max(z, w)) at x=-2, y=5, z=-4, w=2"""
    check_program(sub, *LECTURE, grads_of=4, grads="x, y, z, w's grads")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "op",
    [
        "exp",
        "log",
        "tanh",
        "relu",
        "sigmoid",
        "neg",
        "pow",
        "rsub",
        "rdiv",
        "divc",
        "maximum",
        "maxc",
    ],
)
def test_value_operation(sub, op):
    """Value: one operation, its value and derivative against torch"""
    const = {"pow": 3.0, "rsub": 2.0, "rdiv": 3.0, "divc": -1.5, "maxc": 0.2}.get(op, 0.0)
    leaves = [0.7, -1.3]
    inputs = [0, 1] if op == "maximum" else [0]
    values, grads = torch_program(leaves, [(op, inputs, const)])
    nodes = run_program(sub, leaves, [(op, inputs, const)])
    assert_close(read_all(sub, nodes, "data")[-1], values[-1], **TORCH, name=f"{op}'s value")
    assert_close(read_all(sub, nodes[:2], "grad"), grads[:2], **TORCH, name="the inputs' grads")


# Every operation with one Value input, as f = (the operation of a) * a: a reaches f along two
# paths, so a `_backward` that assigns its input's grad (`self.grad = ...`) instead of adding to
# it erases the product's share. The random graphs reuse the input of an operation only by chance
# (a log's input, in none of them); test_value_operation uses each input once. How each reads
# in the feedback, with its constant: the integers 2 and (the power) 3, as plain numbers may be
# (every other hidden test's constants are floats), and the maximum 0.2, which 0.7 beats.
FORKED = {
    "exp": "a.exp()", "log": "a.log()", "tanh": "a.tanh()", "relu": "a.relu()",
    "sigmoid": "a.sigmoid()", "neg": "-a", "pow": "a ** 3", "maxc": "a.maximum(0.2)",
    "radd": "2 + a", "rsub": "2 - a", "rmul": "2 * a", "rdiv": "2 / a",
    "addc": "a + 2", "subc": "a - 2", "mulc": "a * 2", "divc": "a / 2",
}  # fmt: skip


@pytest.mark.points(2)
def test_one_input_operations_add_to_the_grad(sub):
    """Value: f = op(a) * a for every one-input op (constants 2 and 3): a's grad sums both paths"""
    for op, expression in FORKED.items():
        const = {"pow": 3, "maxc": 0.2}.get(op, 2)
        program = ([0.7], [(op, [0], const), ("mul", [1, 0], 0.0)])
        _, grads = torch_program(*program)
        nodes = run_program(sub, *program)
        assert_close(
            read_all(sub, nodes[:1], "grad"), grads[:1], **TORCH,
            name=f"a's grad in f = ({expression}) * a at a = 0.7",
            note=f"Here a is used twice, by {expression} and by the product, so its grad must add "
            "both paths' shares: every _backward adds to its inputs' grad (+=), never assigns "
            "(=). If the test of this operation alone fails too, fix that first",
        )  # fmt: skip


# a.maximum(c) for a plain number c: the random graphs take the maximum of two Values only, and
# test_value_operation's "maxc" has the Value win (0.7 against 0.2). Here 1.5 beats 0.7, whose
# grad is then 0 (the gradient goes to the larger input, a number), and -1.3 beats -2.0.
MAXIMUM_WITH_NUMBERS = ([0.7, -1.3], [("maxc", [0], 1.5), ("maxc", [1], -2.0),
                                      ("mul", [2, 3], 0.0)])  # fmt: skip


@pytest.mark.points(1)
def test_maximum_with_a_number(sub):
    """Value: a.maximum(c) for a plain number c above and below a: values and gradients"""
    check_program(sub, *MAXIMUM_WITH_NUMBERS, grads_of=2,
                  grads="the grads of 0.7 (below 1.5) and -1.3 (above -2.0)")  # fmt: skip


# A ** k of negative bases, k integer: the random graphs raise only values above 0.25 to powers
# other than 2 (a fractional power of a negative number is complex), and test_value_operation
# raises 0.7, so a derivative right for positive bases alone (k |a| ** (k - 1), or a ** k
# computed as exp(k log a)) would pass them. Odd and even, positive and negative k.
NEGATIVE_POWERS = ([-1.3, -0.6, -2.0, -0.8], [("pow", [0], 2.0), ("pow", [1], 3.0),
                   ("pow", [2], -1.0), ("pow", [3], -2.0), ("add", [4, 5], 0.0),
                   ("add", [8, 6], 0.0), ("add", [9, 7], 0.0)])  # fmt: skip


@pytest.mark.points(2)
def test_pow_of_negative_bases(sub):
    """Value: a ** k for negative a and k = 2, 3, -1, -2: values and derivatives against torch"""
    check_program(sub, *NEGATIVE_POWERS, grads_of=4,
                  grads="the grads of -1.3, -0.6, -2.0, -0.8 (raised to 2, 3, -1, -2)")  # fmt: skip


@pytest.mark.points(4)
@pytest.mark.parametrize("seed", range(6))
def test_random_graph(sub, seed):
    """Value: a random graph that reuses nodes, every node's value and gradient against torch"""
    check_program(sub, *random_program(seed))


def sorted_nodes(sub: Any, root: Any) -> list:
    """topo_sort(root) as a list, or an AssertionError saying what came back instead. None (a
    forgotten `return`, when backward sorts the graph itself) failed in the test's own list()
    ("the test could not complete: TypeError: 'NoneType' object is not iterable"), and a list of
    numbers (`order.append(node.data)`) holds no node, which read as a topo_sort that remembers
    the nodes of an earlier call."""
    order = sub.topo_sort(root)
    assert order is not None, "topo_sort returned None: did it forget to `return` its list?"
    order = list(order)
    plain = [v for v in order if v is None or isinstance(v, (int, float, str, np.generic))]
    assert not plain, (
        f"topo_sort should return a list of the graph's nodes, the Value objects themselves, but "
        f"{len(plain)} of the {len(order)} entries of its list are "
        f"{'None' if plain[0] is None else type(plain[0]).__name__}: append each node, not its "
        ".data (or id)"
    )
    return order


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [10, 11])
def test_topological_order(sub, seed):
    """topo_sort: a list holding every node once, each after the nodes it was computed from"""
    leaves, ops = random_program(seed, n_ops=25)
    nodes = run_program(sub, leaves, ops)
    order = sorted_nodes(sub, nodes[-1])
    ids = [id(node) for node in order]
    assert len(set(ids)) == len(ids), "topo_sort listed a node more than once"
    position = {i: k for k, i in enumerate(ids)}
    # The nodes the output depends on (the student may add nodes of their own, e.g. a - b as
    # a + (-b)); each must be listed, after its inputs.
    needed = {len(nodes) - 1}
    for k in range(len(nodes) - 1, len(leaves) - 1, -1):
        if k in needed:
            needed.update(ops[k - len(leaves)][1])
    missing = [k for k in sorted(needed) if id(nodes[k]) not in position]
    # run_program called backward first, which sorts the graph too: a topo_sort that keeps the
    # nodes it visited from call to call (a global set) lists none of them the second time.
    if len(missing) == len(needed):
        why = (
            ": it listed none of them. Does it remember the nodes of an earlier call? Keep no "
            "set or list of visited nodes outside the call (no global, class-level or "
            "default-argument one)"
        )
    else:
        merged = merged_by_value(sub) if missing else ""
        why = f". {merged}" if merged else ""
    assert not missing, (
        f"topo_sort(root), called after root.backward(), left out {len(missing)} of the graph's "
        f"{len(needed)} nodes{why}"
    )
    for k in sorted(needed):
        if k >= len(leaves):
            for i in ops[k - len(leaves)][1]:
                assert position[id(nodes[i])] < position[id(nodes[k])], (
                    "a node is listed before one of the nodes it was computed from"
                )


@pytest.mark.points(2)
def test_chain_of_ten_thousand_nodes(sub):
    """Value: backward through a chain of 10,000 nodes (no recursion limit)"""
    # 40 s for the one request (the operations, backward, the grad): the chain's 10,000 steps
    # took three requests of 20 s each before sub.repeat, and a Value whose operations cost time
    # in the graph's size (a walk of it per operation: quadratic in all) does most of its work
    # late in the chain; a hang is stopped sooner by the breaker once one operation has hung.
    with sub.batch(timeout=40.0):
        start = sub.Value(1.0)
        # v = (v + 0.5) * 1.0001, 5,000 times: 10,000 operations, run in the worker as one step
        v = sub.repeat(lambda v: (v + 0.5) * 1.0001, start, times=5_000)
        v.backward()
        grad = start.grad
    # d v / d start = 1.0001 ** 5000 (the additions pass the gradient unchanged), computed
    # here in floats: relative error ~1e-12, inside rtol 1e-9.
    assert_close(grad.value, 1.0001**5_000, rtol=1e-9, atol=0, name="the start node's grad")


@pytest.mark.points(2)
def test_second_graph_is_not_polluted(sub):
    """Value: backward on a second graph gives its own gradients and leaves the first alone"""
    first_leaves, first_ops = random_program(20, n_ops=12)
    second_leaves, second_ops = random_program(21, n_ops=12)
    _, first_grads = torch_program(first_leaves, first_ops)
    _, second_grads = torch_program(second_leaves, second_ops)
    first = run_program(sub, first_leaves, first_ops)
    second = run_program(sub, second_leaves, second_ops)
    assert_close(
        read_all(sub, second, "grad"), second_grads, **TORCH, name="the second graph's grads"
    )
    assert_close(
        read_all(sub, first, "grad"), first_grads, **TORCH,
        name="the first graph's grads after the second backward",
    )  # fmt: skip
    order = sorted_nodes(sub, second[-1])
    old = {id(n) for n in first}
    assert not any(id(n) in old for n in order), (
        "topo_sort of the second graph lists first-graph nodes"
    )
