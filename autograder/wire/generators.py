"""numpy random Generators across the trust boundary, as plain data.

Homework 5's functions take `rng=`: None, an int seed, or a `numpy.random.Generator`, and a
Generator must reach the student's function as a Generator. An object cannot cross, but a
Generator is fully described by plain data: the name of its bit generator and that bit
generator's `state` (a dict of ints, strings and uint arrays; PCG64's holds 128-bit ints, which
JSON carries exactly). The protocol sends `{"__generator__": state}`; the receiver builds a fresh
bit generator of an allow-listed kind and sets that state. Nothing else is ever constructed: an
unknown name or a malformed state is a `ProtocolError`, never code.

A Generator is sent by value, like an array: the student's draws advance the worker's copy, not
the test's generator. A test that wants fresh draws passes a generator in a new state.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# The bit generators numpy ships (numpy.random's own allow-list of names, as in its pickling).
BIT_GENERATOR_NAMES = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


def _bit_generator_class(name: Any) -> type[np.random.BitGenerator] | None:
    """numpy's bit generator class of that name, or None. numpy.random is imported here, when a
    Generator is first sent or received, not at the worker's start (~12 ms of every run)."""
    if type(name) is not str or name not in BIT_GENERATOR_NAMES:
        return None
    import numpy.random

    kind: type[np.random.BitGenerator] = getattr(numpy.random, name)
    return kind


def is_generator(kind: type) -> bool:
    """`kind` is numpy's Generator. Without numpy.random imported no Generator can exist (its
    class lives there), so the check does not import it."""
    random = sys.modules.get("numpy.random")
    return random is not None and kind is random.Generator


class GeneratorError(ValueError):
    """A Generator that cannot be sent, or a state that does not describe one."""


def generator_state(generator: np.random.Generator) -> dict[str, Any]:
    """The plain data that describes `generator` (its bit generator's state)."""
    bit_generator = generator.bit_generator
    name = type(bit_generator).__name__
    if _bit_generator_class(name) is not type(bit_generator):
        raise GeneratorError(
            f"a Generator of {name} cannot be sent; only numpy's own bit generators"
        )
    state = bit_generator.state
    if not isinstance(state, dict):  # pragma: no cover - numpy's own bit generators give dicts
        raise GeneratorError(f"{name}'s state is not a dict")
    return state


def make_generator(state: Any) -> np.random.Generator:
    """A Generator in `state` (as `generator_state` gave it); anything else is refused."""
    name = state.get("bit_generator") if type(state) is dict else None
    kind = _bit_generator_class(name)
    if kind is None:
        raise GeneratorError(f"not a numpy bit generator: {str(name)[:40]!r}")
    bit_generator = kind()
    try:
        bit_generator.state = state
    except Exception as exc:  # noqa: BLE001 - numpy raises several kinds for malformed states
        raise GeneratorError(f"malformed {name} state: {type(exc).__name__}") from None
    return np.random.Generator(bit_generator)
