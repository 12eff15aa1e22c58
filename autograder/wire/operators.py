"""The operators a student's object may declare, and what the worker applies for each."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

# name -> (function applied in the worker, the proxy's dunder(s)). Binary operators cover both
# operand orders (Python falls back to the right operand's reflected method by itself).
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "matmul": operator.matmul,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
}
# Comparisons have no reflected dunder: `2 < a` is `a > 2`.
REFLECTED_COMPARISON = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
