"""numpy random Generators across the trust boundary, as plain data.

Homework 5's functions take `rng=`: None, an int seed, or a `numpy.random.Generator`, and a
Generator must reach the student's function as a Generator. An object cannot cross, but a
Generator is fully described by plain data: the name of its bit generator, that bit generator's
`state` (a dict of ints, strings and uint arrays; PCG64's holds 128-bit ints, which JSON carries
exactly), and the `SeedSequence` it was seeded from (its entropy, spawn key, pool size and count of
children spawned: ints and lists of ints). The state gives the draws; the SeedSequence gives the
children of `rng.spawn(n)` and `rng.bit_generator.seed_seq.spawn(n)`, which a correct solution may
use (numpy's advice for independent streams): without it the receiver's children would differ from
the sender's, and two generators in the same state would spawn different children.

The protocol sends `{"__generator__": {"state": state, "seed_seq": seed_seq}}`; the receiver
checks the SeedSequence's data (exact ints, within the bounds below), builds a SeedSequence of it,
a fresh bit generator of an allow-listed kind seeded from that, and sets the state. Nothing else
is ever constructed: an unknown name, a malformed state or SeedSequence is a `GeneratorError`
(a `ProtocolError` on the wire), never code, and never a large allocation. A bit generator with no
SeedSequence of numpy's own (one seeded the legacy way, as `RandomState` does, or from an
`ISeedSequence` of someone else's) sends `"seed_seq": None` and is rebuilt from fresh entropy, as
before SeedSequences travelled: its draws are the same, spawning from it is not repeatable.

A Generator is sent by value, like an array: the student's draws (and spawns) advance the worker's
copy, not the test's generator. A test that wants fresh draws passes a generator in a new state.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# The bit generators numpy ships (numpy.random's own allow-list of names, as in its pickling).
BIT_GENERATOR_NAMES = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")

# Bounds on a SeedSequence as it travels, far above any real use (numpy's own: 128 bits of
# entropy, a pool of 4 words, one spawn-key entry per generation of spawning) and low enough that a
# forged one costs microseconds: a pool of 10**9 words would allocate 4 GB, an int of a million
# digits seconds of conversion.
MAX_INT_BITS = 4096  # an int of entropy or a spawn-key entry (numpy mixes it in as 32-bit words)
MAX_ENTROPY_ITEMS = 256  # entropy given as a sequence of ints
MAX_POOL_SIZE = 256  # numpy requires at least 4, its default
MIN_POOL_SIZE = 4
MAX_SPAWN_DEPTH = 64  # entries of a spawn key: children of children of ... 64 deep
# numpy keeps n_children_spawned in a uint32 and does not check that a spawn fits: spawn(1) of
# a SeedSequence at 2**32 - 1 loops for ever, making children until memory runs out. Half of
# that leaves room for any spawn that could finish (2**31 children is itself out of reach).
MAX_CHILDREN = 2**31 - 1
SEED_SEQ_FIELDS = ("entropy", "spawn_key", "pool_size", "n_children_spawned")


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


def _is_word_int(value: Any) -> bool:
    """An exact int numpy can mix into a SeedSequence, of bounded size (bit_length is O(1))."""
    return type(value) is int and 0 <= value and value.bit_length() <= MAX_INT_BITS


def _int_list(value: Any) -> list[int] | None:
    """A list or tuple of at most MAX_ENTROPY_ITEMS such ints, as a list; None otherwise."""
    if type(value) not in (list, tuple) or len(value) > MAX_ENTROPY_ITEMS:
        return None
    return list(value) if all(_is_word_int(v) for v in value) else None


def _checked_seed_seq(data: Any) -> dict[str, Any]:
    """The fields of a SeedSequence as they travel, checked (exact types, bounded sizes); the
    entropy an int or a list of ints, the spawn key a list of ints."""
    if type(data) is not dict or set(data) != set(SEED_SEQ_FIELDS):
        raise GeneratorError(f"malformed SeedSequence: its fields are {', '.join(SEED_SEQ_FIELDS)}")
    entropy, spawn_key = data["entropy"], data["spawn_key"]
    pool_size, children = data["pool_size"], data["n_children_spawned"]
    if not _is_word_int(entropy):
        entropy = _int_list(entropy)
        if entropy is None:
            raise GeneratorError(
                "malformed SeedSequence: its entropy is not a non-negative int of at most "
                f"{MAX_INT_BITS} bits, or a list of at most {MAX_ENTROPY_ITEMS} of them"
            )
    key = _int_list(spawn_key)
    if key is None or len(key) > MAX_SPAWN_DEPTH:
        raise GeneratorError(
            f"malformed SeedSequence: its spawn key is not a list of at most {MAX_SPAWN_DEPTH} "
            f"non-negative ints of at most {MAX_INT_BITS} bits"
        )
    if type(pool_size) is not int or not MIN_POOL_SIZE <= pool_size <= MAX_POOL_SIZE:
        raise GeneratorError(
            f"malformed SeedSequence: its pool size is not an int from {MIN_POOL_SIZE} to "
            f"{MAX_POOL_SIZE}"
        )
    if type(children) is not int or not 0 <= children <= MAX_CHILDREN:
        raise GeneratorError(
            f"malformed SeedSequence: its count of children is not an int from 0 to {MAX_CHILDREN}"
        )
    return {"entropy": entropy, "spawn_key": key, "pool_size": pool_size,
            "n_children_spawned": children}  # fmt: skip


def _seed_sequence(fields: dict[str, Any]) -> np.random.SeedSequence:
    """numpy's SeedSequence of checked fields."""
    entropy = fields["entropy"]
    try:
        return np.random.SeedSequence(
            entropy if type(entropy) is int else tuple(entropy),
            spawn_key=tuple(fields["spawn_key"]),
            pool_size=fields["pool_size"],
            n_children_spawned=fields["n_children_spawned"],
        )
    except Exception as exc:  # noqa: BLE001 - numpy's own refusals (checked fields pass them)
        raise GeneratorError(f"malformed SeedSequence: {type(exc).__name__}") from None


def _plain_ints(value: Any) -> int | list[int] | None:
    """An int or a flat sequence of ints (numpy's or Python's) as Python ints; None otherwise."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "iu" or value.size > MAX_ENTROPY_ITEMS:
            return None
        return [int(v) for v in value.tolist()]
    if isinstance(value, (list, tuple, range)):
        try:
            too_long = len(value) > MAX_ENTROPY_ITEMS
        except OverflowError:  # a range of more than 2**63 items
            return None
        if not too_long and all(isinstance(v, (int, np.integer)) for v in value):
            return [int(v) for v in value]
    return None


def _seed_seq_data(seed_seq: Any, name: str) -> dict[str, Any] | None:
    """The plain data of a bit generator's SeedSequence, or None when it has none of numpy's own
    (see the module's docstring). A SeedSequence the receiver would rebuild differently (entropy
    numpy mixes in some other way, or over the bounds) cannot be sent."""
    if type(seed_seq) is not np.random.SeedSequence:
        return None
    entropy = _plain_ints(seed_seq.entropy)
    spawn_key = _plain_ints(seed_seq.spawn_key)
    data = {"entropy": entropy, "spawn_key": spawn_key, "pool_size": int(seed_seq.pool_size),
            "n_children_spawned": int(seed_seq.n_children_spawned)}  # fmt: skip
    try:
        fields = _checked_seed_seq(data)
        # Entropy of Python ints is what the receiver gets (the common case: default_rng(seed)
        # and spawned children); numpy's ints, arrays and ranges are checked by rebuilding.
        given: Any = seed_seq.entropy
        if type(given) is int or (
            type(given) in (list, tuple) and all(type(v) is int for v in given)
        ):
            return data
        rebuilt = _seed_sequence(fields)
    except GeneratorError as exc:
        raise GeneratorError(f"a Generator of {name} cannot be sent: {exc}") from None
    # The pool is all that the SeedSequence's draws and its children's depend on, besides the
    # fields above: equal pools mean the receiver spawns exactly the sender's children.
    if not np.array_equal(rebuilt.pool, seed_seq.pool):  # pragma: no cover - numpy's coercion
        raise GeneratorError(
            f"a Generator of {name} cannot be sent: its SeedSequence's entropy would not be "
            "rebuilt the same from ints"
        )
    return data


def generator_state(generator: np.random.Generator) -> dict[str, Any]:
    """The plain data that describes `generator`: its bit generator's state and SeedSequence."""
    bit_generator = generator.bit_generator
    name = type(bit_generator).__name__
    if _bit_generator_class(name) is not type(bit_generator):
        raise GeneratorError(
            f"a Generator of {name} cannot be sent; only numpy's own bit generators"
        )
    state = bit_generator.state
    if not isinstance(state, dict):  # pragma: no cover - numpy's own bit generators give dicts
        raise GeneratorError(f"{name}'s state is not a dict")
    seed_seq = bit_generator.seed_seq  # public since numpy 1.25, the least we take
    return {"state": state, "seed_seq": _seed_seq_data(seed_seq, name)}


def make_generator(data: Any) -> np.random.Generator:
    """A Generator as `generator_state` described it; anything else is refused."""
    if type(data) is not dict or set(data) != {"state", "seed_seq"}:
        raise GeneratorError("malformed Generator: its fields are state, seed_seq")
    state, seed_data = data["state"], data["seed_seq"]
    name = state.get("bit_generator") if type(state) is dict else None
    kind = _bit_generator_class(name)
    if kind is None:
        raise GeneratorError(f"not a numpy bit generator: {str(name)[:40]!r}")
    # Checked before numpy sees it: a forged SeedSequence must not allocate (pool_size) or spin.
    seed_seq = None if seed_data is None else _seed_sequence(_checked_seed_seq(seed_data))
    try:
        # Seeded from the SeedSequence (it becomes the bit generator's seed_seq), then set to the
        # sender's state; with none, from fresh entropy.
        bit_generator = kind() if seed_seq is None else kind(seed_seq)
        bit_generator.state = state
    except Exception as exc:  # noqa: BLE001 - numpy raises several kinds for malformed states
        raise GeneratorError(f"malformed {name} state: {type(exc).__name__}") from None
    return np.random.Generator(bit_generator)
