"""Hostile and broken objects: the object-test fixture's reference (tests/objects_hw) plus one
trick each, graded against that fixture's hidden tests by tests/test_corpus_objects.py.

Each case is the reference's cells with a cell appended that redefines or patches a class, so
the part a case leaves alone is correct work and must keep its points."""

from __future__ import annotations

import sys
from pathlib import Path

from corpus_kit import DAEMON, MARK, Case, assign, src

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "objects_hw"))
from objects_fixture import reference_cells  # noqa: E402


def then(*extra: str) -> list:
    """The fixture's reference followed by the given cells."""
    return [*reference_cells(), *(src(e) for e in extra)]


CASES = [
    Case(
        "getattr_answers_everything",
        "objects",
        "Linear has no real members: __getattr__ returns a function for every name",
        lambda ctx: then(
            """
            class Linear:
                def __init__(self, *args, **kwargs):
                    pass

                def __getattr__(self, name):
                    return lambda *args, **kwargs: np.zeros((1, 1))
            """
        ),
    ),
    Case(
        "getattribute_fakes_grad",
        "objects",
        "Value.__getattribute__ answers .grad with the node's data",
        lambda ctx: then(
            """
            def _fake(self, name):
                if name == "grad":
                    return object.__getattribute__(self, "data")
                return object.__getattribute__(self, name)


            Value.__getattribute__ = _fake
            """
        ),
    ),
    Case(
        "forward_returns_self",
        "objects",
        "Linear.forward returns the module itself instead of an array",
        lambda ctx: then(
            """
            _forward = Linear.forward


            def forward(self, X):
                _forward(self, X)
                return self


            Linear.forward = forward
            """
        ),
    ),
    Case(
        "ten_million_node_graph",
        "objects",
        "Value.tanh builds a graph of 10 million nodes",
        lambda ctx: then(
            """
            def tanh(self):
                node = self
                for i in range(10_000_000):
                    node = Value(i, (node,))
                return node


            Value.tanh = tanh
            """
        ),
    ),
    Case(
        "reference_cycles",
        "objects",
        "correct, but modules and nodes refer to themselves (cycles for the collector)",
        lambda ctx: then(
            """
            _seq_init, _value_init = Sequential.__init__, Value.__init__


            def seq_init(self, *modules):
                _seq_init(self, *modules)
                self.me, self.ring = self, [self, self.modules]


            def value_init(self, *args, **kwargs):
                _value_init(self, *args, **kwargs)
                self.myself = self


            Sequential.__init__, Value.__init__ = seq_init, value_init
            """
        ),
    ),
    Case(
        "result_contains_itself",
        "objects",
        "topo_sort returns a list that contains itself (backward uses it too)",
        lambda ctx: then(
            """
            _topo = topo_sort


            def topo_sort(root):
                order = _topo(root)
                order.append(order)
                return order
            """
        ),
    ),
    Case(
        "class_spoofing",
        "objects",
        "Value.__add__ returns another class whose __class__ claims to be Value",
        lambda ctx: then(
            """
            class Fake:
                __class__ = property(lambda self: Value)

                def __init__(self, data):
                    self.data, self.grad, self._prev, self._back = data, 0.0, (), None

                def backward(self):
                    pass


            def add(self, other):
                return Fake(self.data + Value._wrap(other).data)


            Value.__add__ = Value.__radd__ = add
            """
        ),
    ),
    Case(
        "init_forks",
        "objects",
        "Linear.__init__ forks a child that sleeps, and one that daemonises",
        lambda ctx: then(
            DAEMON,
            """
            _init = Linear.__init__


            def init(self, *args, **kwargs):
                if os.fork() == 0:
                    time.sleep(600)
                    os._exit(0)
                daemon(lambda: time.sleep(600))
                _init(self, *args, **kwargs)


            Linear.__init__ = init
            """,
        ),
    ),
    Case(
        "init_hangs",
        "objects",
        "Linear.__init__ never returns",
        lambda ctx: then(
            """
            def init(self, *args, **kwargs):
                while True:
                    pass


            Linear.__init__ = init
            """
        ),
    ),
    Case(
        "del_side_effects",
        "objects",
        "Value.__del__ writes files, prints, and signals the grader",
        lambda ctx: then(
            assign(SCRATCH=ctx.shared_scratch, DECOY=ctx.decoy_dir, MARK=MARK)
            + src(
                """
                import os
                import signal
                import time


                def finalize(self):
                    time.sleep(0.005)  # 10,000 of these outlast any teardown budget
                    for folder in (SCRATCH, DECOY, "/tmp"):
                        try:
                            with open(os.path.join(folder, f"del-{os.getpid()}-{id(self)}"), "w") as f:
                                f.write(MARK)
                        except OSError:
                            pass
                    try:
                        os.kill(os.getppid(), signal.SIGKILL)
                    except OSError as exc:
                        print("__del__ could not signal the grader:", exc)


                Value.__del__ = finalize
                """
            )
        ),
    ),
    Case(
        "del_hangs",
        "objects",
        "Value.__del__ never returns (runs when a test's objects are released)",
        lambda ctx: then(
            """
            def finalize(self):
                while True:
                    pass


            Value.__del__ = finalize
            """
        ),
    ),
    Case(
        "forged_reference_ids",
        "objects",
        "patches the worker's object table to reply with ids the grader never issued",
        lambda ctx: then(
            """
            import gc

            from dlhw.autograder.worker.object_table import ObjectTable

            for table in [o for o in gc.get_objects() if type(o) is ObjectTable]:
                _intern = table._intern
                table._intern = lambda obj, slot, _i=_intern: 10**12 + _i(obj, slot)
            """
        ),
    ),
    Case(
        "methods_change_between_calls",
        "objects",
        "after its first call, Value.backward replaces itself (for every Value) with a no-op",
        lambda ctx: then(
            """
            _backward = Value.backward


            def backward(self):
                _backward(self)
                Value.backward = lambda self: None


            Value.backward = backward
            """
        ),
    ),
    Case(
        "backward_runs_forever",
        "objects",
        "Value.backward never returns",
        lambda ctx: then(
            """
            def backward(self):
                while True:
                    pass


            Value.backward = backward
            """
        ),
    ),
    Case(
        "pow_returns_generator",
        "objects",
        "Value.__pow__ returns a generator",
        lambda ctx: then(
            """
            def power(self, k):
                yield self


            Value.__pow__ = power
            """
        ),
    ),
    Case(
        "eq_always_true",
        "objects",
        "Values equal everything, and __add__ multiplies",
        lambda ctx: then(
            """
            _mul = Value.__mul__
            Value.__eq__ = lambda self, other: True
            Value.__hash__ = lambda self: 0
            Value.__add__ = Value.__radd__ = lambda self, other: _mul(self, other)
            """
        ),
    ),
    Case(
        "dunder_traps",
        "objects",
        "correct, but __bool__ raises, __len__ is huge, __index__ and __float__ lie, __hash__ raises",
        lambda ctx: then(
            """
            def trap(self, *args):
                raise RuntimeError("the grader touched a trap")


            Value.__bool__ = Value.__hash__ = Value.__eq__ = trap
            Value.__len__ = lambda self: 10**30
            Value.__index__ = lambda self: 10**30
            Value.__float__ = lambda self: float("nan")
            Linear.__bool__ = Linear.__hash__ = trap
            """
        ),
    ),
    Case(
        "data_is_a_trick_number",
        "objects",
        "Value.data is a float subclass that equals everything",
        lambda ctx: then(
            """
            class Sly(float):
                def __eq__(self, other):
                    return True

                __hash__ = float.__hash__


            _init = Value.__init__


            def init(self, data, *args, **kwargs):
                _init(self, data, *args, **kwargs)
                self.data = Sly(self.data)


            Value.__init__ = init
            """
        ),
    ),
    Case(
        "huge_len_list",
        "objects",
        "topo_sort returns a list subclass whose __len__ is huge",
        lambda ctx: then(
            """
            class Huge(list):
                def __len__(self):
                    return 10**18


            _topo = topo_sort


            def topo_sort(root):
                return Huge(_topo(root))
            """
        ),
    ),
    Case(
        "node_class_per_operation",
        "objects",
        "correct, unusual: products are instances of `class Mul(Value)`",
        lambda ctx: then(
            """
            class Mul(Value):
                pass


            _mul = Value.__mul__


            def mul(self, other):
                out = _mul(self, other)
                out.__class__ = Mul
                return out


            Value.__mul__ = Value.__rmul__ = mul
            """
        ),
    ),
    Case(
        "ten_million_item_result",
        "objects",
        "Linear.backward returns a list of 10 million numbers",
        lambda ctx: then(
            """
            _backward = Linear.backward


            def backward(self, grad_out):
                _backward(self, grad_out)
                return [0.0] * 10_000_000


            Linear.backward = backward
            """
        ),
    ),
]
