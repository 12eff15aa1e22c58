"""Class declarations: what a manifest's [classes.NAME] tables may say, and what is refused."""

from __future__ import annotations

import pytest

from dlhw.autograder.classspec import ClassSpec, SpecError, class_specs
from dlhw.autograder.wire.operators import BINARY, UNARY


def test_manifest_tables_become_frozen_specs():
    specs = class_specs(
        {
            "Linear": {"methods": ["forward", "backward"], "attributes": ["W", "b", "dW", "db"]},
            "Value": {"attributes": ["data", "grad"], "operators": ["add", "mul", "pow", "neg"]},
        }
    )
    assert specs["Linear"] == ClassSpec(("forward", "backward"), ("W", "b", "dW", "db"))
    assert specs["Value"].operators == ("add", "mul", "pow", "neg")
    assert hash(specs["Value"])  # tuples, not lists: the declaration cannot change
    with pytest.raises(AttributeError):
        specs["Value"].methods = ("steal",)  # type: ignore[misc]


@pytest.mark.parametrize(
    "table, message",
    [
        ({"method": ["forward"]}, "unknown keys"),
        ({"methods": "forward"}, "list of names"),
        ({"methods": ["__reduce__"]}, "starts with '_'"),
        ({"attributes": ["_cache"]}, "starts with '_'"),
        ({"methods": ["for"]}, "not a Python name"),
        ({"methods": ["a-b"]}, "not a Python name"),
        ({"methods": ["f", "f"]}, "twice"),
        ({"methods": ["W"], "attributes": ["W"]}, "both as method and attribute"),
        ({"operators": ["eq"]}, "stays local"),
        ({"operators": ["bool"]}, "stays local"),
        ({"operators": ["radd"]}, "unknown operator"),
        ({"operators": ["+"]}, "not a Python name"),
    ],
)
def test_malformed_declarations_are_refused(table, message):
    with pytest.raises(SpecError, match=message):
        class_specs({"Linear": table})


def test_class_names_must_be_public_python_names():
    with pytest.raises(SpecError, match="class name"):
        class_specs({"_Hidden": {}})


def test_binary_operators_are_separate_from_unary_ones():
    assert set(BINARY).isdisjoint(UNARY)
