"""Objects across the boundary, against a real sandboxed worker running the fixture reference
(tests/objects_hw): proxies, declarations, local equality, stale and released references,
forged references, batches, and whose fault each failure is."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from dlhw.autograder.classspec import ClassSpec
from dlhw.autograder.confinement import Limits
from dlhw.autograder.session import Session
from dlhw.autograder.submission import GraderError, StudentError, Submission
from dlhw.autograder.wire.protocol import Ref
from dlhw.autograder.worker.object_table import MAX_STEPS

sys.path.insert(0, str(Path(__file__).parent / "objects_hw"))
from objects_fixture import CLASSES, reference_cells  # noqa: E402

LIMITS = Limits(call_timeout_s=5.0, cell_timeout_s=10.0, run_timeout_s=300.0)

EXTRA = '''
import os
import sys
from dlhw.autograder.wire.protocol import Ref


class Crashy:
    def die(self):
        os._exit(0)

    def spin(self):
        while True:
            pass


class Equalish:
    """Claims to equal everything; hashing and truth raise."""

    def __eq__(self, other):
        return True

    def __hash__(self):
        raise RuntimeError("no hash")

    def __bool__(self):
        raise RuntimeError("no truth")

    def me(self):
        return self


def forge_plain():
    return Ref(0, 1, "Value")


def forge_objects():
    import gc
    from dlhw.autograder.worker.object_table import ObjectTable

    gc.unfreeze()  # the worker freezes the objects that predate the tests
    table = next(o for o in gc.get_objects() if type(o) is ObjectTable)
    table._intern = lambda obj, slot: 10**12


def modules():
    return sorted(sys.modules)


class Node(Value):
    """A node class derived from Value (some correct designs have one per operation)."""


class Spoof:
    __class__ = property(lambda self: Value)


class Forgetful(Value):
    """A Value whose tanh computes its result and forgets to return it."""

    def tanh(self):
        Value.tanh(self)


def make_forgetful():
    return Forgetful(0.5)


def make_node():
    return Node(5.0)


def make_spoof():
    return Spoof()


def scale_in_place(arrays, k):
    for a in arrays:
        a *= k


def scale_rebinding(arrays, k):
    arrays = [a * k for a in arrays]
    return None


def forge_kept():
    return Ref(0, 1, "<kept value>")


class Counter:
    def __init__(self):
        self.arr = np.zeros(2)

    def bump(self):
        self.arr += 1  # in place: the same array object every time


class Shapeshifter:
    """Calling the class gives an array, not an instance."""

    def __new__(cls, n=1):
        return np.zeros(n, dtype=np.uint8)


def blob(n):
    return np.zeros(n, dtype=np.uint8)
'''
TEST_CLASSES = {
    **CLASSES,
    "Crashy": ClassSpec(methods=("die", "spin")),
    "Equalish": ClassSpec(methods=("me",)),
    "Counter": ClassSpec(methods=("bump",), attributes=("arr",)),
    "Shapeshifter": ClassSpec(),
}


@pytest.fixture(scope="module")
def session():
    with Session(LIMITS) as s:
        cells = [*reference_cells(), EXTRA]
        reports = s.run_cells(list(enumerate(cells)))
        assert [r.status for r in reports] == ["ok"] * len(cells), reports
        yield s


@pytest.fixture(scope="module")
def submission(session):
    """One Submission per worker, as in a grading run (ids are granted by it, in order)."""
    return Submission(session, classes=TEST_CLASSES)


@pytest.fixture
def sub(submission):
    yield submission
    submission.release()  # as the reporter's `sub` fixture does after every test


def count_requests(session: Session, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    sent: list[dict] = []
    original = session.request

    def request(message, timeout=None):
        sent.append(message)
        return original(message, timeout)

    monkeypatch.setattr(session, "request", request)
    return sent


def test_the_issues_example_reads_like_python(sub):
    X = np.arange(8.0).reshape(2, 4) / 8
    G = np.ones((2, 3))
    lin = sub.Linear(4, 3, rng=7)
    out = lin.forward(X)
    dX = lin.backward(G)
    dW = lin.dW
    W = lin.W
    assert isinstance(out, np.ndarray) and out.shape == (2, 3)
    np.testing.assert_allclose(dX, G @ W.T, rtol=1e-12)  # linear map: exact up to rounding
    np.testing.assert_allclose(dW, X.T @ G, rtol=1e-12)
    net = sub.Sequential(lin, sub.ReLU(), sub.Linear(3, 2, rng=8))
    assert net.forward(X).shape == (2, 2)
    a, b = sub.Value(2.0), sub.Value(-3.0)
    c = a * b + a**2
    c.backward()
    # dc/da = b + 2a = 1, dc/db = a = 2: small integers, exact in float64.
    assert math.isclose(a.grad, 1.0) and math.isclose(b.grad, 2.0)


def test_attribute_writes_set_the_students_weights(sub):
    lin = sub.Linear(2, 2, rng=0)
    lin.W = np.eye(2)
    lin.b = np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(lin.forward(np.array([[2.0, 3.0]])), [[3.0, 2.0]])


def test_operators_in_both_orders_and_unary_minus(sub):
    a = sub.Value(4.0)
    values = [(2.0 - a).data, (a - 2.0).data, (3.0 * a).data, (1.0 / a).data, (a / 8.0).data]
    values.append((-a).data)
    np.testing.assert_allclose(values, [-2.0, 2.0, 12.0, 0.25, 0.5, -4.0], rtol=1e-12)


def test_objects_come_back_as_the_same_proxy(sub):
    a, b = sub.Value(1.0), sub.Value(2.0)
    c = a * b
    order = sub.topo_sort(c)
    assert any(node is a for node in order) and order[-1] is c
    e = sub.Equalish()
    assert e.me() is e


def test_equality_hashing_and_truth_stay_local(sub):
    e1, e2 = sub.Equalish(), sub.Equalish()
    assert e1 == e1 and e1 != e2 and not (e1 == e2)  # identity, never the student's __eq__
    assert len({e1, e2}) == 2  # hashing never calls the student's __hash__
    with pytest.raises(StudentError, match="truth value"):  # e.g. `assert result` on an object
        bool(e1)
    with pytest.raises(StudentError, match="where the tests expect plain data"):
        float(sub.Value(1.0))  # a method that returned a Value where a number was expected


@pytest.mark.parametrize(
    "use, message",
    [
        (lambda sub: sub.Linear(2, 2).X, r"Linear\.X is not declared"),
        (lambda sub: sub.Linear(2, 2).nonexistent, r"Linear\.nonexistent is not declared"),
        (lambda sub: setattr(sub.Linear(2, 2), "X", 1.0), "attributes of"),
        (lambda sub: sub.Value(1.0) < sub.Value(2.0), "operators of"),
        (lambda sub: sub.Value(1.0) @ sub.Value(2.0), "operators of"),
    ],
)
def test_undeclared_members_blame_the_test(sub, use, message):
    with pytest.raises(GraderError, match=message):
        use(sub)


def test_numpy_never_computes_on_objects_and_blames_the_submission(sub):
    """An object where a test expects an array: numpy wrapped it in an object array, asked it for
    `.dtype` and applied `abs` and `<=` (names no class declares), failures reported as the
    tests' mistakes ("staff will regrade"), with the submission's operators run on the way."""
    with pytest.raises(StudentError, match="a numpy array of an object of your submission"):
        np.asarray(sub.Value(1.0))
    with pytest.raises(StudentError, match="a numpy array of an object of your submission"):
        np.testing.assert_allclose(sub.Value(1.0), 1.0)
    with pytest.raises(StudentError, match="a numpy array of an object of your submission"):
        np.asarray([sub.Value(1.0), 2.0]).std()
    lin = sub.Linear(2, 2)
    assert not hasattr(lin, "dtype") and getattr(lin, "shape", None) is None  # as Python's
    with pytest.raises(GraderError, match=r"Linear\.dtype is not declared"):
        lin.dtype  # noqa: B018 - the test's own use of an undeclared name is still its mistake
    assert (np.float64(2.0) * sub.Value(3.0)).data == 6.0  # numbers still combine with objects


def test_a_class_that_gives_plain_data_is_the_submissions_fault(sub):
    """What calling a declared class gives is an object of it: an array instead (passed to
    Sequential, say, with two more, it was too large to send: "the test's mistake")."""
    with pytest.raises(StudentError, match=r"calling Shapeshifter\(...\) gave a ndarray"):
        sub.Shapeshifter(3)


def test_plain_results_that_cannot_be_sent_back_are_the_submissions_fault(sub):
    """A batch sends earlier steps' plain results back when later steps use them: 3 results of
    12 MiB do not fit a request (32 MiB), and the submission made them so large."""
    lin = sub.Linear(2, 2)
    with pytest.raises(StudentError, match="uses what blob returned, which cannot be sent back"):
        with sub.batch():
            parts = []
            for _ in range(3):
                parts.append(sub.blob(12 * 2**20))
                sub.value(parts[-1])  # read now: sent in a request of its own
            lin.forward(parts)


def test_a_reply_that_fails_past_its_last_step_is_forged(sub, session, monkeypatch):
    original = session.request

    def request(message, timeout=None):
        reply = original(message, timeout)
        if message.get("op") != "objects":
            return reply
        failed = {"step": len(reply["values"]), "type": "X", "message": ""}
        return {"ok": True, "values": reply["values"], "error": failed}

    monkeypatch.setattr(session, "request", request)
    with pytest.raises(StudentError, match="sent a malformed reply"):
        sub.Linear(2, 2)


@pytest.mark.parametrize(
    "use",
    [
        lambda sub: sub.Linear(2, 2) + 1,  # `+` is declared for Value only
        lambda sub: sub.Linear(2, 2).grad,  # so is .grad
        lambda sub: setattr(sub.Linear(2, 2), "data", 1.0),
    ],
)
def test_members_of_another_class_blame_the_object_that_came_back(sub, use):
    """A name declared for some class but used on another: a method returned the wrong kind of
    object (a test that did this on purpose would fail on the reference too)."""
    with pytest.raises(StudentError, match="did a function or method return a Linear"):
        use(sub)


def test_subclasses_of_declared_classes_cross_by_reference_and_spoofs_do_not(sub):
    node = sub.make_node()
    assert isinstance(node, sub.Value) and node.data == 5.0
    assert (node * 2.0).data == 10.0
    with pytest.raises(StudentError, match="returned a Spoof, which is neither plain data"):
        sub.make_spoof()


def test_proxies_are_named_after_their_class(sub):
    lin = sub.Linear(2, 2)
    assert type(lin).__name__ == "Linear" and "Linear #" in repr(lin)
    assert isinstance(lin, sub.Linear) and not isinstance(lin, sub.Value)
    assert not isinstance(3.0, sub.Value)


def test_messages_name_the_class_a_pending_target_turned_out_to_be(sub):
    with pytest.raises(StudentError, match=r"`\*\*` on Value raised ZeroDivisionError"):
        with sub.batch():
            v = sub.Value(0.0) * 1.0
            _ = v**-1.0  # the reference's __pow__ computes 0.0 ** -1.0
    with pytest.raises(StudentError, match=r"Value\.backward raised TypeError"):
        with sub.batch():
            v = sub.Value(1.0) * 1.0
            v.backward(3)  # the reference's backward takes no argument


def test_a_method_that_forgot_to_return_is_named_by_what_used_its_none(sub):
    """A method's None used in a batch (by an operator, in either order, with a number or an
    object; by a method) names that method with its class, not "`-` on object" with Python's
    TypeError, nor "object.tanh", nor the TypeError of the student's __mul__ given None."""
    none = r"Value\.tanh, which is None: did it forget to `return`\?$"
    for use in (lambda t: t - 1.0, lambda t: 2.0 * t, lambda t: sub.Value(1.0) * t):
        with pytest.raises(StudentError, match=r"^`[-*]` was used on the result of " + none):
            with sub.batch():
                use(sub.make_forgetful().tanh())
    with pytest.raises(StudentError, match=r"^\.backward was used on the result of " + none):
        with sub.batch():
            sub.make_forgetful().tanh().backward()


def test_undeclared_functions_blame_the_test(session):
    sub = Submission(session, classes=TEST_CLASSES, functions=["topo_sort"])
    with pytest.raises(GraderError, match="not a function the homework declares"):
        sub.modules()


@pytest.mark.parametrize("bad", [{1, 2}, object(), np.array(["text"]), {1: 2}])
def test_arguments_that_cannot_be_sent_are_the_tests_mistake(sub, bad):
    with pytest.raises(GraderError, match="cannot|not strings"):
        sub.Linear(2, 2).forward(bad)


def test_plain_function_arguments_that_cannot_be_sent_are_the_tests_mistake(session):
    plain = Submission(session)  # no classes: the plain-call path
    with pytest.raises(GraderError, match="cannot be sent"):
        plain.topo_sort({1, 2})


def test_a_crash_makes_earlier_references_stale(sub, session):
    lin = sub.Linear(2, 2, rng=0)
    generation = session.generation
    with pytest.raises(StudentError, match="Crashy.die crashed"):
        sub.Crashy().die()
    with pytest.raises(StudentError, match="lost when your notebook's process was restarted"):
        lin.forward(np.ones((1, 2)))
    assert sub.Linear(2, 2).forward(np.ones((1, 2))).shape == (1, 2)  # a fresh worker
    assert session.generation == generation + 1


def test_a_timeout_makes_earlier_references_stale(sub, session):
    a = sub.Value(1.0)
    with pytest.raises(StudentError, match="did not return within the time limit"):
        sub.Crashy().spin()
    with pytest.raises(StudentError, match="lost"):
        _ = a.data


def test_a_hung_batch_blames_what_never_returned(sub, session):
    """A batch that times out cannot say which step hung: the breaker blames the callables that
    have never returned in this run (here the method), not the constructor that has."""
    session.hung.discard(".spin")
    sub.Crashy()  # the constructor returns
    with pytest.raises(StudentError, match="did not return within the time limit"):
        with sub.batch():
            c = sub.Crashy()
            c.spin()
    assert ".spin" in session.hung and "Crashy" not in session.hung
    with pytest.raises(StudentError, match=r"\.spin already ran past its limit \(5 s"):
        sub.Crashy().spin()
    assert sub.Value(2.0).data == 2.0  # other classes keep working, under the full limit


def test_released_references_are_the_tests_mistake(sub):
    a = sub.Value(1.0)
    sub.release()
    with pytest.raises(GraderError, match="after it was released"):
        _ = a.data
    assert sub.Value(3.0).data == 3.0


def test_released_references_stay_the_tests_mistake_after_a_restart(sub):
    """An object kept from an earlier test is the test's mistake even if a crash has restarted
    the worker since (it must not read as the student's lost object)."""
    a = sub.Value(1.0)
    sub.release()
    with pytest.raises(StudentError, match="crashed"):
        sub.Crashy().die()
    with pytest.raises(GraderError, match="after it was released"):
        _ = a.data


def test_forged_references_in_replies_are_rejected(sub, session):
    plain = Submission(session)
    with pytest.raises(StudentError, match="never issued"):
        plain.forge_plain()
    sub.forge_objects()
    generation = session.generation
    with pytest.raises(StudentError, match="never issued"):
        sub.Value(1.0)
    # The worker that forged is discarded; a fresh one (without the patch) answers.
    assert sub.Value(2.0).data == 2.0 and session.generation == generation + 1


def test_the_worker_refuses_references_it_did_not_issue(sub, session):
    a = sub.Value(1.0)  # makes sure a worker of the current generation holds objects
    assert a.data == 1.0
    epoch = session.generation
    for ref in (Ref(10**9, epoch, "Value"), Ref(a._ref.id, epoch + 7, "Value")):
        reply = session.request(
            {
                "op": "objects",
                "epoch": epoch,
                "first_id": sub.objects.next_id,
                "classes": ["Value"],
                "steps": [["get", ref, "data", []]],
            }
        )
        assert reply["error"]["type"] == "BadReference", reply
        sub.objects.next_id += 2**21


def test_a_batch_is_one_round_trip(sub, session, monkeypatch):
    sent = count_requests(session, monkeypatch)
    with sub.batch():
        a = sub.Value(0.5)
        v = a
        for _ in range(50):
            v = v * a + 1.0
        v.backward()
        grad, data = a.grad, v.data
    assert len(sent) == 1
    # Oracle: the same recurrence and its derivative, in floats.
    x, value, deriv = 0.5, 0.5, 1.0
    for _ in range(50):
        value, deriv = value * x + 1.0, deriv * x + value
    assert math.isclose(data.value, value, rel_tol=1e-12)
    assert sub.value(data) == data.value and sub.value(1.5) == 1.5
    assert math.isclose(grad.value, deriv, rel_tol=1e-9)  # 50 steps of rounding in each
    assert a.data == 0.5  # a finished batch's results are ordinary objects


def test_long_batches_go_in_requests_of_max_steps(sub, session, monkeypatch):
    sent = count_requests(session, monkeypatch)
    n = 2 * MAX_STEPS + 10
    with sub.batch():
        values = [sub.Value(float(i)) for i in range(n)]
        total = values[0]
        for v in values[1:]:
            total = total + v
        total.backward()
        last = values[-1].grad
    assert len(sent) == math.ceil((2 * n + 1) / MAX_STEPS)
    assert total.value.data == n * (n - 1) / 2 and last.value == 1.0  # small integers: exact


def test_reading_a_value_inside_a_batch_sends_what_is_queued(sub, session, monkeypatch):
    sent = count_requests(session, monkeypatch)
    with sub.batch():
        a = sub.Value(2.0)
        b = a * 3.0
        assert b.data.value == 6.0 and len(sent) == 1
        c = b + 1.0
    assert c.value.data == 7.0 and len(sent) == 3


def test_a_failing_step_fails_the_batch_and_what_follows(sub, session, monkeypatch):
    sent = count_requests(session, monkeypatch)
    with pytest.raises(StudentError, match="ZeroDivisionError"):
        with sub.batch():
            a = sub.Value(1.0)
            b = a / 0.0
            c = b + 1.0
    assert len(sent) == 1
    assert isinstance(a.value.data, float)
    with pytest.raises(StudentError, match="failed or was not run"):
        _ = c.value


def test_an_exception_in_the_test_sends_nothing(sub, session, monkeypatch):
    sent = count_requests(session, monkeypatch)
    with pytest.raises(KeyError):
        with sub.batch():
            a = sub.Value(1.0)
            raise KeyError("the test's own bug")
    assert sent == []
    with pytest.raises(StudentError, match="not run"):
        _ = a.value


def test_members_of_pending_results_are_checked_against_their_class(sub):
    with pytest.raises(StudentError, match="did a function or method return a Linear"):
        with sub.batch():
            lin = sub.Linear(2, 2)
            _ = lin.data  # an attribute of Value, not of Linear


def test_the_worker_never_imports_grader_side_modules(sub):
    sub.Value(1.0).backward()
    loaded = set(Submission(sub.session).modules())
    grader_side = {
        "pytest", "_pytest", "dlhw.autograder.submission", "dlhw.autograder.remote", "dlhw.autograder.proxies",
        "dlhw.autograder.reporter", "dlhw.autograder.grading", "dlhw.autograder.checks",
        "dlhw.autograder.session", "dlhw.autograder.results", "dlhw.autograder.blame",
        "dlhw.autograder.cli", "dlhw.autograder.homeworks", "objects_fixture", "hidden_tests", "torch",
    }  # fmt: skip
    assert "dlhw.autograder.worker.object_table" in loaded  # the check sees the worker's modules
    assert loaded & grader_side == set()
    # Deny by default: of the course's own modules, only the worker and wire packages.
    ours = {m for m in loaded if m.startswith("dlhw.autograder.")}
    others = {
        m for m in ours if not m.startswith(("dlhw.autograder.worker", "dlhw.autograder.wire"))
    }
    assert others <= _FORKED_WITH, others


# A worker forked by a batch's fork server comes with what the server imported for the keeper it
# forks first (forkserver.py's docstring): jail.py, which holds no secret (it is in the view).
_FORKED_WITH = {"dlhw.autograder.jail"} if os.environ.get("DLHW_TEST_FORK_SERVER") == "1" else set()


def test_with_args_goes_through_the_object_table_too(sub):
    """A function given objects (or any function, once classes are declared) still reports the
    arguments as it left them."""
    a = sub.Value(3.0)
    result = sub.topo_sort.with_args(a)
    assert result.value[-1] is a and result.args[0] is a


def test_kept_values_are_the_very_objects_the_students_code_gets(sub):
    """sub.keep leaves the test's array in the worker: updated in place there, it reads back
    changed; rebinding a name inside the student's code leaves it as it was."""
    first, second = np.arange(6.0).reshape(2, 3), np.ones(4, dtype=np.float32)
    kept = [sub.keep(first), sub.keep(second)]
    sub.scale_rebinding(kept, 3.0)
    assert np.array_equal(kept[0].value, first) and np.array_equal(sub.value(kept[1]), second)
    sub.scale_in_place(kept, 2.0)
    after = sub.value(kept[0])
    assert np.array_equal(after, 2 * first) and np.array_equal(first, np.arange(6.0).reshape(2, 3))
    assert kept[1].value.dtype == np.float32 and np.array_equal(kept[1].value, 2 * second)
    assert "kept in the submission's process" in repr(kept[0])


def test_kept_values_in_a_batch(sub):
    with sub.batch():
        kept = sub.keep(np.ones(3))
        sub.scale_in_place([kept], 5.0)
    assert np.array_equal(sub.value(kept), np.full(3, 5.0))


def test_kept_values_are_released_with_the_test(sub):
    kept = sub.keep(np.ones(2))
    sub.release()
    with pytest.raises(GraderError, match="after it was released"):
        _ = kept.value


CYCLES = """
FINALIZED = []


class Loop:
    def __init__(self, tag):
        self.me, self.tag = self, tag  # a reference cycle: only the collector frees it

    def __del__(self):
        FINALIZED.append(self.tag)


def finalized():
    return list(FINALIZED)


made_by_a_cell = Loop("cell")
"""


def test_objects_in_cycles_are_finalized_at_release_and_after_a_later_cell():
    """The worker freezes the objects that predate the tests out of its collections: a test's
    objects in cycles are still finalized when it releases them, and the notebook's own garbage
    when a cell run after the tests drops it."""
    with Session(LIMITS) as session:
        session.run_cells([(0, CYCLES)])
        sub = Submission(session, classes={"Loop": ClassSpec()})
        sub.Loop("test")
        assert sub.finalized() == []
        sub.release()
        assert sub.finalized() == ["test"]
        session.run_cells([(1, "made_by_a_cell = None")])
        assert sub.finalized() == ["test", "cell"]
        sub.release()


def test_kept_values_cannot_be_forged_or_misread(sub, session):
    plain = Submission(session)
    with pytest.raises(StudentError, match="never issued"):
        plain.forge_kept()
    a = sub.Value(1.0)
    epoch = session.generation
    reply = session.request(
        {
            "op": "objects",
            "epoch": epoch,
            "first_id": sub.objects.next_id,
            "classes": ["Value"],
            "steps": [["value", Ref(a._ref.id, epoch, "Value"), "value", []]],
        }
    )
    assert reply["error"]["type"] == "ProtocolError", reply  # only kept values read by value
    sub.objects.next_id += 2**21
    with pytest.raises(GraderError, match="cannot be sent"):
        sub.keep({1, 2})


def test_a_batch_reads_each_value_as_it_was_when_its_step_ran(sub):
    """The reply is encoded after the last step: an array read between in-place updates must
    still read as it was then, not as the later steps left it."""
    with sub.batch():
        counter = sub.Counter()
        reads = []
        for _ in range(3):
            counter.bump()
            reads.append(counter.arr)
    assert [sub.value(r).tolist() for r in reads] == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]


def test_function_calls_of_a_homework_without_classes_share_round_trips_in_a_batch(monkeypatch):
    """Without declared classes a call is one request, except inside `with sub.batch():` (a
    test that calls a function for 200 seeds): there the calls go out together, each result is
    the student's own, and one that raises fails the batch with the student's error."""
    with Session(LIMITS) as session:
        cell = "import math\n\ndef sqrt_plus_one(x):\n    return math.sqrt(x) + 1.0\n"
        assert [r.status for r in session.run_cells([(0, cell)])] == ["ok"]
        plain = Submission(session)  # no classes: calls go straight to the worker
        sent: list[dict] = []
        original = session._request

        def request(message, *args, **kwargs):
            sent.append(message)
            return original(message, *args, **kwargs)

        monkeypatch.setattr(session, "_request", request)
        assert plain.sqrt_plus_one(4.0) == 3.0 and len(sent) == 1
        sent.clear()
        with plain.batch():
            got = [plain.sqrt_plus_one(float(k * k)) for k in range(50)]
        assert len(sent) == 1
        assert [plain.value(g) for g in got] == [k + 1.0 for k in range(50)]
        with pytest.raises(StudentError, match="sqrt_plus_one raised ValueError: math domain"):
            with plain.batch():
                plain.sqrt_plus_one(4.0)
                plain.sqrt_plus_one(-1.0)
        # A per-call limit cannot apply to a call that shares a request: the test's mistake.
        with pytest.raises(GraderError, match=r"timed\(\) cannot be used inside sub.batch"):
            with plain.batch():
                plain.sqrt_plus_one.timed(5.0)(4.0)
        # Nor can an inner batch's own limit: it is part of the outer batch's request.
        with pytest.raises(GraderError, match=r"inside another sub.batch\(\)"):
            with plain.batch():
                with plain.batch(timeout=30.0):
                    plain.sqrt_plus_one(4.0)
        with plain.batch(timeout=30.0):  # the same limit, or none: the outer one applies
            with plain.batch(timeout=30.0), plain.batch():
                nested = plain.sqrt_plus_one(9.0)
        assert plain.value(nested) == 4.0


def test_a_batch_of_calls_of_one_function_that_times_out_names_that_function():
    """Without declared classes a batch holds calls only; its time-out says which function (as
    each call's own time-out did before such calls were batched), not "a batch of operations"."""
    with Session(LIMITS) as session:
        cell = "import time\n\ndef slow(k):\n    if k == 7:\n        time.sleep(30)\n    return k\n"
        assert [r.status for r in session.run_cells([(0, cell)])] == ["ok"]
        plain = Submission(session)
        with pytest.raises(StudentError, match=r"^20 calls of slow did not return within"):
            with plain.batch(timeout=0.5):
                for k in range(20):
                    plain.slow(k)


# ---- sub.repeat: a loop of operations run in the worker as one step ---------------------------


def test_repeat_runs_its_body_in_the_worker_as_one_step(sub, session, monkeypatch):
    sent = count_requests(session, monkeypatch)
    with sub.batch():
        a = sub.Value(0.5)
        v = sub.repeat(lambda v: v * a + 1.0, a, times=3_000)
        v.backward()
        grad, data = a.grad, v.data
    assert len(sent) == 1 and len(sent[0]["steps"]) == 5  # a, the repeat, backward, two reads
    # Oracle: the same recurrence and its derivative, in floats (as in the batch test above).
    x, value, deriv = 0.5, 0.5, 1.0
    for _ in range(3_000):
        value, deriv = value * x + 1.0, deriv * x + value
    assert math.isclose(data.value, value, rel_tol=1e-12)
    assert math.isclose(grad.value, deriv, rel_tol=1e-9)
    # Outside a batch it runs at once and gives the object (2 ** 10, exact).
    assert sub.repeat(lambda v: v * 2.0, sub.Value(1.0), times=10).data == 1024.0
    # numpy's numbers are numbers too (immutable: every time may share one)
    assert sub.repeat(lambda v: v * np.float64(2.0), sub.Value(1.0), times=3).data == 8.0


def test_a_failing_repeat_names_the_body_step_and_the_repetition(sub):
    # v -> v + 1 + (v - 2) ** -1 * 0: fine at v = 0 and 1, ZeroDivisionError at v = 2 (the third)
    with pytest.raises(StudentError, match=r"`\*\*` on Value \(repetition 3 of 10\)") as info:
        with sub.batch():
            v = sub.repeat(lambda v: v + 1.0 + ((v - 2.0) ** -1.0) * 0.0, sub.Value(0.0), times=10)
    assert "ZeroDivisionError" in str(info.value)
    with pytest.raises(StudentError, match="failed or was not run"):
        _ = v.value


@pytest.mark.parametrize(
    "where",
    [[0, 0, []], [0, 0, {"a": 1}], [0, 0, np.zeros(2)], [0, 0, "Value\nTOTAL 33/33"],
     [True, 0, "Value"], [2**60, 0, "Value"], [-1, 0, "Value"], [0, 9, "Value"], "0 0 Value",
     None],
)  # fmt: skip
def test_a_repeats_failure_as_the_worker_tells_it_never_breaks_the_message(
    sub, session, monkeypatch, where
):
    """The "repeat" field of a failure is the submission's process's word: one that names no
    body step, time or declared class leaves the repeat named as a whole (an unhashable class
    name raised TypeError in the grader)."""
    original = session.request

    def request(message, timeout=None):
        reply = original(message, timeout)
        if message.get("op") == "objects" and reply.get("error"):
            reply["error"]["repeat"] = where
        return reply

    monkeypatch.setattr(session, "request", request)
    with pytest.raises(StudentError, match="ZeroDivisionError") as info:
        sub.repeat(lambda v: v + 1.0 + ((v - 2.0) ** -1.0) * 0.0, sub.Value(0.0), times=10)
    assert "TOTAL" not in str(info.value)
    assert str(info.value).startswith(
        ("`+` on object (repetition 1 of 10) raised", "a batch of 5 operations, repeated 10 times")
    )


def test_the_values_of_a_repeats_body_stay_in_it(sub):
    """Using them anywhere else, reading them while recording, and bodies the worker cannot run
    as a loop are the test's mistakes, said before anything is sent."""
    kept = []

    def keeps(v):
        kept.append(v * 2.0)
        return kept[-1] + 1.0

    with pytest.raises(GraderError, match="body of sub.repeat"):  # said when it is sent
        with sub.batch():
            start = sub.Value(1.0)
            sub.repeat(keeps, start, times=3)
            _ = kept[0] + 1.0
    with pytest.raises(GraderError, match="body of sub.repeat"):
        _ = kept[0].value
    start = sub.Value(1.0)
    for body, message in [
        (lambda v: (v * 2.0).data.value, "was read in the body"),
        (lambda v: v.value, "reading a value computed in the body"),
        (lambda v: v, "returned its argument"),
        (lambda v: 3.0, "returned a float"),
        (lambda v: sub.repeat(lambda w: w * 2.0, v, times=2), "inside the body of another"),
        (lambda v: v * np.ones(3), "passed `\\*` on object a ndarray"),
        (lambda v: sub.keep(1.0) * v, "not keep"),
        (lambda v: sum((v for _ in range(MAX_STEPS + 1)), v * 1.0), "steps, over"),
    ]:
        with pytest.raises(GraderError, match=message):
            sub.repeat(body, start, times=2)
    for times in (0, -1, 2.0, 10**9):
        with pytest.raises(GraderError, match="times must be an int"):
            sub.repeat(lambda v: v * 2.0, start, times=times)
    assert start.data == 1.0  # nothing above ran


def test_the_worker_refuses_malformed_repeats(sub, session):
    a = sub.Value(1.0)
    assert a.data == 1.0
    epoch = session.generation
    target = Ref(a._ref.id, epoch, "Value")

    def loop(i):
        return Ref(i, epoch, "<repeat>")

    steps = [
        ["get", loop(0), "data", []],  # a loop value outside a repeat
        ["repeat", target, "", [2, [["op", None, "mul", [loop(2), 2.0]]], 1]],  # a later value
        ["repeat", target, "", [2, [["keep", None, "keep", [1.0]]], 1]],  # keep in a body
        ["repeat", target, "", [2, [["repeat", target, "", [2, [], 1]]], 1]],  # nested
        ["repeat", target, "", [0, [["op", None, "mul", [loop(0), 2.0]]], 1]],  # 0 times
        ["repeat", target, "", [2, [["op", None, "mul", [loop(0), 2.0]]], 2]],  # no such result
    ]
    for step in steps:
        reply = session.request(
            {
                "op": "objects",
                "epoch": epoch,
                "first_id": sub.objects.next_id,
                "classes": ["Value"],
                "steps": [step],
            }
        )
        assert reply["error"]["type"] in ("BadReference", "ProtocolError"), (step, reply)
        sub.objects.next_id += 2**21
    assert a.data == 1.0
