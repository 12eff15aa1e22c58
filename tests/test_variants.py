"""Variants: replacing one definition of a notebook's code, and nothing else."""

from __future__ import annotations

import pytest

from dlhw.autograder.variants import VariantError, replace_definition

CELL = """import numpy as np

@staticmethod
def helper(x):
    return x


class Linear:
    def forward(self, X):
        return X @ self.W

    def backward(self, G):
        return G @ self.W.T


def relu(Z):
    return np.maximum(Z, 0)
"""


def test_a_function_is_replaced_with_its_decorators_and_nothing_else():
    out = replace_definition(CELL, "helper", "def helper(x):\n    return 2 * x")
    assert out is not None
    assert "@staticmethod" not in out and "return 2 * x" in out
    assert out.replace("def helper(x):\n    return 2 * x\n", "") == CELL.replace(
        "@staticmethod\ndef helper(x):\n    return x\n", ""
    )


def test_a_method_is_replaced_at_its_class_indentation():
    out = replace_definition(CELL, "Linear.backward", "def backward(self, G):\n    return G")
    assert out is not None
    assert "    def backward(self, G):\n        return G\n" in out
    assert "return X @ self.W" in out and "G @ self.W.T" not in out
    compile(out, "<variant>", "exec")


def test_a_name_the_cell_does_not_define_gives_none():
    assert replace_definition(CELL, "softmax", "def softmax(z): pass") is None
    assert replace_definition(CELL, "Linear.update", "def update(self): pass") is None
    assert replace_definition("def broken(:", "broken", "x = 1") is None


def test_a_name_defined_twice_in_one_cell_is_refused():
    with pytest.raises(VariantError, match="defined 2 times"):
        replace_definition("def f():\n    pass\n\ndef f():\n    pass\n", "f", "def f(): pass")
