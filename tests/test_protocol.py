"""The plain-data protocol: what may cross the trust boundary, and what is refused."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest

from dlhw.autograder.wire.generators import BIT_GENERATOR_NAMES, GeneratorError, make_generator
from dlhw.autograder.wire.protocol import (
    DEFAULT_LIMITS,
    HEADER,
    Channel,
    FrameLimits,
    ProtocolError,
    Ref,
    decode_frame,
    encode_frame,
    frame_parts,
    parse_header,
)


def roundtrip(value, limits: FrameLimits = DEFAULT_LIMITS):
    r, w = os.pipe()
    try:
        frame = encode_frame(value, limits)
        os.write(w, frame)
        return Channel(r, w, limits).receive()
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        "text",
        [1, [2, "x"]],
        {"a": 1, "b": [None]},
        (1, (2.0,)),
        1 + 2j,
    ],
)
def test_plain_values_roundtrip(value):
    assert roundtrip(value) == value and type(roundtrip(value)) is type(value)


def test_a_large_frame_is_sent_in_parts_that_make_the_same_bytes():
    """Arrays go out as their own bytes, after the head, not copied into one frame first."""
    rng = np.random.default_rng(0)
    value = {
        "w": rng.normal(size=(300, 700)),  # 1.7 MB: over the size joined into one write
        "f": np.asfortranarray(rng.normal(size=(40, 30))),
        "b": np.arange(12, dtype=">i4").reshape(3, 4),
        "scalars": (np.float32(1.5), np.asarray(2.0), np.zeros((0, 5)), np.bool_(True)),
    }
    parts = frame_parts(value)
    assert len(parts) == 1 + 7 and b"".join(parts) == encode_frame(value)
    r, w = os.pipe()
    writes = []

    def write(view: memoryview) -> None:
        writes.append(len(view))
        while view:
            view = view[os.write(w, view) :]

    received = {}
    reader = threading.Thread(target=lambda: received.update(v=Channel(r, w).receive()))
    reader.start()
    try:
        Channel(r, w).send(value, write)
        reader.join(30)
    finally:
        os.close(r)
        os.close(w)
    assert writes == [len(p) for p in parts]
    out = received["v"]
    for key in ("w", "f", "b"):
        np.testing.assert_array_equal(out[key], value[key])
    for got, sent in zip(out["scalars"], value["scalars"], strict=True):
        np.testing.assert_array_equal(got, sent)
        assert np.asarray(got).dtype == np.asarray(sent).dtype.newbyteorder("=")


def test_a_small_frame_is_one_write():
    r, w = os.pipe()
    writes = []

    def write(view: memoryview) -> None:
        writes.append(len(view))
        os.write(w, view)

    try:
        Channel(r, w).send({"a": np.arange(10.0), "b": [1, "x"]}, write)
        assert Channel(r, w).receive()["b"] == [1, "x"]
    finally:
        os.close(r)
        os.close(w)
    assert len(writes) == 1


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "int64", "uint8", "bool", "complex64", ">f8"]
)
def test_arrays_roundtrip_with_dtype_and_shape(dtype):
    arr = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    out = roundtrip({"a": arr, "t": (arr.T,)})
    np.testing.assert_array_equal(out["a"], arr)
    assert out["a"].shape == arr.shape and out["a"].dtype == arr.dtype.newbyteorder("=")
    np.testing.assert_array_equal(out["t"][0], arr.T)  # non-contiguous input is made contiguous


def test_numpy_scalars_stay_scalars_and_special_floats_survive():
    out = roundtrip([np.float32(1.5), float("nan"), float("inf"), np.array(2.0)])
    assert isinstance(out[0], np.float32) and out[0] == np.float32(1.5)
    assert np.isnan(out[1]) and out[2] == float("inf")
    assert isinstance(out[3], np.ndarray) and out[3].shape == ()


def test_ndarray_subclass_arrives_as_plain_ndarray():
    class Sneaky(np.ndarray):
        def __eq__(self, other):  # noqa: D105
            return True

    out = roundtrip(np.zeros(3).view(Sneaky))
    assert type(out) is np.ndarray


class AlwaysEqual:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "value, message",
    [
        (AlwaysEqual(), "not plain data"),
        (np.array([AlwaysEqual()], dtype=object), "only numeric arrays"),
        (np.array(["a"]), "only numeric arrays"),
        ({1: 2}, "keys must be strings"),
        ((x for x in range(3)), "not plain data"),
        (type("MyInt", (int,), {})(3), "not plain data"),
        (set([1]), "not plain data"),
    ],
)
def test_non_plain_data_is_refused_when_encoding(value, message):
    with pytest.raises(ProtocolError, match=message):
        encode_frame(value)


def test_deep_nesting_is_refused():
    value: list = []
    for _ in range(100):
        value = [value]
    with pytest.raises(ProtocolError, match="nested"):
        encode_frame(value)


def _frame(header: dict, buffers: list[bytes]) -> tuple[bytes, list[bytes]]:
    return json.dumps(header).encode(), buffers


@pytest.mark.parametrize(
    "header, buffers, message",
    [
        (
            {"body": {"__ndarray__": 0, "dtype": "|O", "shape": [1], "scalar": False}},
            [b"\0" * 8],
            "only numeric",
        ),
        (
            {"body": {"__ndarray__": 0, "dtype": "<f8", "shape": [3], "scalar": False}},
            [b"\0" * 8],
            "does not match",
        ),
        (
            {"body": {"__ndarray__": 5, "dtype": "<f8", "shape": [1], "scalar": False}},
            [b"\0" * 8],
            "missing buffer",
        ),
        ({"body": {"__pickle__": "gASV"}}, [], "malformed"),
        (
            {"body": {"__ndarray__": 0, "dtype": "V8", "shape": [1], "scalar": False}},
            [b"\0" * 8],
            "only numeric",
        ),
        ({"nobody": 1}, [], "malformed"),
    ],
)
def test_hostile_frames_are_refused_when_decoding(header, buffers, message):
    raw, bufs = _frame(header, buffers)
    with pytest.raises(ProtocolError, match=message):
        decode_frame(raw, bufs)


def test_a_header_listing_more_buffers_than_items_is_refused_before_allocation():
    """The sizes list is one bracket, however long: 2 million buffers of 1 byte each passed every
    size check (2 MB of data) and cost the grader ~600 MiB (a memoryview and a 64-byte slot
    each) before anything was decoded."""
    n = DEFAULT_LIMITS.max_items + 1
    header = json.dumps({"body": None, "buffers": [1] * n}).encode()
    stream = io.BytesIO(HEADER.pack(len(header)) + header)  # no buffer bytes follow

    def read_into(view: memoryview) -> None:
        if stream.readinto(view) != len(view):
            raise EOFError("the frame's buffers were read: none was refused")

    with pytest.raises(ProtocolError, match="buffers"):
        Channel(-1, -1).receive(read_into)
    # As many buffers as items are still admitted (an array each is that many brackets).
    header = json.dumps({"body": None, "buffers": [0] * DEFAULT_LIMITS.max_items}).encode()
    assert parse_header(header)[1] == [0] * DEFAULT_LIMITS.max_items


def test_oversized_frames_are_refused_before_allocation():
    r, w = os.pipe()
    try:
        header = json.dumps({"body": None, "buffers": [2**40]}).encode()
        os.write(w, HEADER.pack(len(header)) + header)
        with pytest.raises(ProtocolError, match="over the"):
            Channel(r, w).receive()
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(ProtocolError, match="over the"):
        encode_frame(np.zeros(2**20), FrameLimits(max_total_bytes=2**20))


# ---- malformed frames: always a ProtocolError (issue #8) -------------------------------------

VOCABULARY = ["__ndarray__", "__tuple__", "__dict__", "__float__", "__complex__", "__pickle__",
              "dtype", "shape", "scalar", "body", "buffers", "ok", "value", "args", "__ref__",
              "__generator__", "bit_generator"]  # fmt: skip
DTYPES = ["<f8", "|u1", "<i4", "|b1", "<c16", "|O", "V8", "<M8", "(2,)<f8", "i4,i4", "S3",
          "<U2", "f8x", "", "<f2", ">f8", "[", "O4"]  # fmt: skip


def random_json(r: np.random.Generator, depth: int = 0):
    """Any JSON value, biased towards the shapes the decoder gives meaning to."""
    kind = r.integers(0, 12 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return bool(r.integers(0, 2))
    if kind == 2:
        return int(r.choice([0, 1, -1, 2**63, -(2**70), 7]))
    if kind == 3:
        return float(r.choice([0.5, 1e308, -0.0, 3.0]))
    if kind == 4:
        return str(r.choice(["nan", "inf", "-inf", "x", "\ud800", "\x1b[2J", ""]))
    if kind == 5:
        return str(r.choice(DTYPES))
    if kind in (6, 7):
        return [random_json(r, depth + 1) for _ in range(r.integers(0, 4))]
    if kind == 8:  # an array descriptor, each field possibly wrong
        desc = {"__ndarray__": int(r.integers(-1, 3)), "dtype": str(r.choice(DTYPES)),
                "shape": [int(n) for n in r.integers(-1, 4, size=r.integers(0, 3))],
                "scalar": bool(r.integers(0, 2))}  # fmt: skip
        for key in list(desc):
            if r.random() < 0.2:
                desc[key] = random_json(r, depth + 1)
            if r.random() < 0.05:
                del desc[key]
        return desc
    key = str(r.choice(VOCABULARY))
    obj = {key: random_json(r, depth + 1)}
    if r.random() < 0.2:
        obj[str(r.choice(VOCABULARY))] = random_json(r, depth + 1)
    return obj


def _buffers_named(body: Any) -> set[Any]:
    if isinstance(body, dict):
        index = body.get("__ndarray__")
        found = {index} if type(index) is int else set()
        return found.union(*(_buffers_named(v) for v in body.values()))
    if isinstance(body, list):
        return set().union(*(_buffers_named(v) for v in body))
    return set()


def test_fuzzed_frame_bodies_decode_or_raise_protocol_error():
    """Random JSON bodies of the decoder's own shapes: plain data out, or a ProtocolError; never
    ValueError, TypeError or any other exception (the grader would take those as its own bug)."""
    r = np.random.default_rng(8)
    buffers = [bytes(8), bytes(16), bytes(1)]
    # Arrays for the buffers a body leaves unused (a frame must use every buffer it lists).
    fillers = [_array_entry(0, 1), _array_entry(1, 2), {**_array_entry(2, 1), "dtype": "|u1"}]
    decoded = 0
    for _ in range(5000):
        body = random_json(r)
        used = _buffers_named(body)
        body = {"__tuple__": [body, *(f for i, f in enumerate(fillers) if i not in used)]}
        header = json.dumps({"body": body, "buffers": [8, 16, 1]}).encode()
        try:
            decode_frame(header, buffers)
            decoded += 1
        except ProtocolError:
            pass
    assert 200 < decoded < 4800  # both outcomes were exercised


def test_mutated_frames_through_a_channel_raise_only_protocol_error():
    """Valid frames with random bytes changed, inserted or deleted, read the way the grader reads
    them (header length, header, buffers): a value, a ProtocolError, or EOF when bytes ran out."""
    r = np.random.default_rng(9)
    values = [{"ok": True, "value": np.arange(6.0).reshape(2, 3)}, (1, [2.5, "s"], 1j),
              {"ok": False, "error": {"type": "E", "message": "m"}}, np.uint8(3)]  # fmt: skip
    frames = [encode_frame(v) for v in values]
    outcomes = {"value": 0, "protocol": 0, "eof": 0}
    for i in range(3000):
        frame = bytearray(frames[i % len(frames)])
        for _ in range(r.integers(1, 4)):
            pos = int(r.integers(0, len(frame)))
            op = r.integers(0, 3)
            if op == 0:
                frame[pos] = int(r.integers(0, 256))
            elif op == 1:
                frame[pos:pos] = bytes([int(r.integers(0, 256))])
            else:
                del frame[pos]
        stream = memoryview(bytes(frame))

        def read_into(view: memoryview) -> None:
            nonlocal stream
            if len(view) > len(stream):
                raise EOFError
            view[:] = stream[: len(view)]
            stream = stream[len(view) :]

        try:
            Channel(-1, -1).receive(read_into)
            outcomes["value"] += 1
        except ProtocolError:
            outcomes["protocol"] += 1
        except EOFError:
            outcomes["eof"] += 1
    assert all(outcomes.values()), outcomes


@pytest.mark.parametrize(
    "body, message",
    [
        ({"__complex__": [1.0]}, "malformed"),  # was a ValueError (unpacking)
        ({"__complex__": 5}, "malformed"),  # was a TypeError
        ({"__ndarray__": 0, "dtype": "<f8", "shape": [1], "scalar": "yes"}, "malformed"),
        ({"__ndarray__": 0, "dtype": "f8x", "shape": [1], "scalar": False}, "dtype"),
        ({"__ndarray__": 0, "dtype": "<f8", "shape": [1], "scalar": False, "x": 1}, "malformed"),
        ([{"__ndarray__": 0, "dtype": "<f8", "shape": [1], "scalar": False}] * 2, "same buffer"),
        ({"__tuple__": [1], "__dict__": {}}, "malformed"),
    ],
)
def test_malformed_values_are_protocol_errors(body, message):
    with pytest.raises(ProtocolError, match=message):
        decode_frame(json.dumps({"body": body, "buffers": [8]}).encode(), [bytes(8)])


def test_too_many_brackets_are_refused_before_parsing():
    header = json.dumps({"body": [[]] * 120_000, "buffers": []}).encode()
    with pytest.raises(ProtocolError, match="more than"):
        decode_frame(header, [])


def test_student_text_is_cleaned_where_it_enters():
    value = roundtrip({"message\x1b": "TOTAL 31/31\r\x1b[2J", "lone": "\ud800 ok"})
    assert value == {"message\\x1b": "TOTAL 31/31\\x0d\\x1b[2J", "lone": "\ufffd ok"}
    json.dumps(value).encode("utf-8")  # storable and printable


def test_the_workers_side_receives_the_graders_text_unchanged():
    text = {"cell\x0c": "x = 1\x0c\ny = '\u200b\x1b'\r", "surrogate": "\ud800"}
    r, w = os.pipe()
    try:
        os.write(w, encode_frame(text))
        assert Channel(r, w, clean_text=False).receive() == text
    finally:
        os.close(r), os.close(w)


def test_arrays_arrive_without_copies_writable_and_aligned():
    value = roundtrip([np.arange(5, dtype=np.uint8), np.arange(3.0)])
    assert all(a.flags.writeable and a.ctypes.data % 16 == 0 for a in value)
    value[1][0] = 7.0  # tests may work on what they received
    assert value[1].tolist() == [7.0, 1.0, 2.0]


def test_references_roundtrip_as_plain_data():
    ref = Ref(12, 3, "Value")
    out = roundtrip({"r": [ref, (ref,)]})
    assert out == {"r": [ref, (ref,)]} and type(out["r"][0]) is Ref


@pytest.mark.parametrize(
    "inner",
    [
        [1, 2],
        [1, 2, "Value", 4],
        [-1, 0, "Value"],
        [2**53, 0, "Value"],
        [1.0, 0, "Value"],
        [True, 0, "Value"],
        [1, 0, ""],
        [1, 0, "V" * 101],
        [1, 0, None],
        {"id": 1},
    ],
)
def test_malformed_references_are_refused_when_decoding(inner):
    raw, bufs = _frame({"body": {"__ref__": inner}}, [])
    with pytest.raises(ProtocolError, match="malformed"):
        decode_frame(raw, bufs)


def test_malformed_references_are_refused_when_encoding():
    with pytest.raises(ProtocolError, match="malformed reference"):
        encode_frame(Ref(-1, 0, "Value"))


# ---- numpy Generators, by value (generators.py) ----------------------------------------------


@pytest.mark.parametrize("name", sorted(BIT_GENERATOR_NAMES))
def test_generators_cross_as_generators_in_the_same_state(name):
    gen = np.random.Generator(getattr(np.random, name)(12345))
    gen.random(7)  # a state away from the seed's, with a buffered half-word for some kinds
    gen.integers(0, 2**31, size=3, dtype=np.uint32)
    out = roundtrip({"rng": gen, "more": [gen]})
    assert type(out["rng"]) is np.random.Generator
    assert type(out["rng"].bit_generator).__name__ == name
    assert out["rng"] is not gen and np.array_equal(out["rng"].random(50), gen.random(50))


def _as_encoded(value):  # as the encoder writes dicts and lists
    if type(value) is dict:
        return {"__dict__": {k: _as_encoded(v) for k, v in value.items()}}
    return [_as_encoded(v) for v in value] if type(value) is list else value


def _decode_generator(data):
    raw, bufs = _frame({"body": {"__generator__": _as_encoded(data)}}, [])
    return decode_frame(raw, bufs)


@pytest.mark.parametrize(
    "state",
    [
        {"bit_generator": "RandomState"},
        {"bit_generator": "os.system", "state": {}},
        {"bit_generator": ["PCG64"]},
        {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}},
        {"bit_generator": "PCG64", "state": {"state": -1, "inc": 2**200}},
        {"bit_generator": "MT19937", "state": {"key": [1, 2, 3], "pos": 0}},
        {"bit_generator": "SFC64"},
        [],
        "PCG64",
    ],
)
def test_anything_but_a_numpy_bit_generator_state_is_refused(state):
    with pytest.raises(ProtocolError):
        _decode_generator({"state": state, "seed_seq": None})


# numpy's advice for independent streams is to spawn children of the Generator's SeedSequence;
# the children depend on it, not on the state, so it travels too (issue: a correct solution
# using rng.spawn lost points: the worker's copy had a SeedSequence of fresh entropy).
SPAWNS = {
    "Generator.spawn": lambda g: [c.random(3) for c in g.spawn(2)],
    "seed_seq.spawn": lambda g: [s.generate_state(3) for s in g.bit_generator.seed_seq.spawn(2)],
    "BitGenerator.spawn": lambda g: [
        np.random.Generator(b).random(3) for b in g.bit_generator.spawn(2)
    ],
    "default_rng(child)": lambda g: [
        np.random.default_rng(g.bit_generator.seed_seq.spawn(1)[0]).random(3)
    ],
}


def _same_children(a: np.random.Generator, b: np.random.Generator) -> None:
    sa, sb = a.bit_generator.seed_seq, b.bit_generator.seed_seq
    # The entropy as numpy mixed it in (a list or an array of ints arrives as a tuple of ints).
    assert np.array_equal(sa.pool, sb.pool)
    assert (sa.spawn_key, sa.pool_size, sa.n_children_spawned) == (
        sb.spawn_key, sb.pool_size, sb.n_children_spawned
    )  # fmt: skip
    for how, spawn in SPAWNS.items():  # each spawns from both: their counts stay equal
        assert all(map(np.array_equal, spawn(a), spawn(b))), how
    assert np.array_equal(a.random(5), b.random(5))  # and the draws, as before


@pytest.mark.parametrize("name", sorted(BIT_GENERATOR_NAMES))
def test_generators_cross_with_their_seed_sequence(name):
    gen = np.random.Generator(getattr(np.random, name)(12345))
    gen.random(3)
    out = roundtrip(gen)
    assert out.bit_generator.seed_seq is not gen.bit_generator.seed_seq
    _same_children(out, gen)
    # After the original has spawned: the count of children travels, the next ones match.
    assert gen.bit_generator.seed_seq.n_children_spawned == 7
    _same_children(roundtrip(gen), gen)
    # A child (a spawn key), a grandchild, a pool of 8 words, entropy as a list of big ints.
    child = gen.spawn(3)[2]
    _same_children(roundtrip(child), child)
    grandchild = child.spawn(2)[1]
    _same_children(roundtrip(grandchild), grandchild)
    seq = np.random.SeedSequence([2**100, 0, 7], spawn_key=(4, 2**40), pool_size=8)
    wide = np.random.Generator(getattr(np.random, name)(seq))
    _same_children(roundtrip(wide), wide)


@pytest.mark.parametrize(
    "entropy",
    [np.int64(5), np.array([1, 2**31], dtype=np.uint32), np.array([2**40, 3]), range(5), (), 0],
    ids=["numpy-int", "uint32-array", "int64-array", "range", "empty", "zero"],
)
def test_entropy_of_every_kind_numpy_takes_crosses_as_ints(entropy):
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    out = roundtrip(gen)
    assert np.array_equal(out.bit_generator.seed_seq.pool, gen.bit_generator.seed_seq.pool)
    _same_children(out, gen)


def test_a_generator_without_a_seed_sequence_still_crosses():
    """A legacy-seeded MT19937 (RandomState's) has no SeedSequence: its draws cross as before."""
    bit_generator = np.random.MT19937()
    bit_generator._legacy_seeding(5)
    assert bit_generator.seed_seq is None
    gen = np.random.Generator(bit_generator)
    out = roundtrip(gen)
    assert type(out.bit_generator) is np.random.MT19937
    assert np.array_equal(out.random(20), gen.random(20))


def test_a_seed_sequence_over_the_bounds_cannot_be_sent():
    for gen in (
        np.random.default_rng(2**5000),  # entropy over 4096 bits
        np.random.default_rng(list(range(1000))),  # 1,000 ints of entropy
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(1, pool_size=10**4))),
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(1, spawn_key=(0,) * 100))),
    ):
        with pytest.raises(ProtocolError, match="cannot be sent: malformed SeedSequence"):
            encode_frame(gen)


GOOD_SEED = {"entropy": 7, "spawn_key": [], "pool_size": 4, "n_children_spawned": 0}
PCG64_STATE = np.random.PCG64(7).state


@pytest.mark.parametrize(
    "change",
    [
        {"entropy": -1},
        {"entropy": 1.0},
        {"entropy": True},
        {"entropy": "7"},
        {"entropy": None},
        {"entropy": 2**5000},
        {"entropy": [1, -2]},
        {"entropy": [1, [2]]},
        {"entropy": [1] * 1000},
        {"entropy": {"__dict__": {}}},
        {"spawn_key": [-1]},
        {"spawn_key": [True]},
        {"spawn_key": 3},
        {"spawn_key": [0] * 100},
        {"spawn_key": [2**5000]},
        {"pool_size": 3},
        {"pool_size": 10**9},
        {"pool_size": True},
        {"pool_size": 4.0},
        {"n_children_spawned": -1},
        {"n_children_spawned": 2**32},
        {"n_children_spawned": 2**32 - 1},  # numpy's spawn(1) of it never ends (and eats memory)
        {"n_children_spawned": 2**31},
        {"n_children_spawned": "0"},
        {"extra": 1},
    ],
    ids=repr,
)
def test_a_malformed_seed_sequence_is_refused_on_the_wire(change):
    seed_seq = {**GOOD_SEED, **change}
    with pytest.raises(ProtocolError, match="malformed SeedSequence"):
        _decode_generator({"state": PCG64_STATE, "seed_seq": seed_seq})


def test_a_generator_at_the_most_children_spawned_still_spawns():
    """A received Generator's spawn() always ends: numpy wraps its uint32 count of children
    (spawn(1) at 2**32 - 1 never returned, making children until memory ran out)."""
    from dlhw.autograder.wire.generators import MAX_CHILDREN

    assert MAX_CHILDREN + 2**20 < 2**32  # checked first: otherwise the spawn below never ends
    gen = _decode_generator(
        {"state": PCG64_STATE, "seed_seq": {**GOOD_SEED, "n_children_spawned": MAX_CHILDREN}}
    )
    (child,) = gen.spawn(1)
    assert child.bit_generator.seed_seq.spawn_key == (MAX_CHILDREN,)


@pytest.mark.parametrize(
    "data",
    [
        {"state": PCG64_STATE},
        {"state": PCG64_STATE, "seed_seq": GOOD_SEED, "more": 1},
        {"state": PCG64_STATE, "seed_seq": []},
        {"state": PCG64_STATE, "seed_seq": {k: v for k, v in GOOD_SEED.items() if k != "entropy"}},
        PCG64_STATE,  # a bare state, as generators were sent before their SeedSequence
    ],
)
def test_a_malformed_generator_is_refused_on_the_wire(data):
    with pytest.raises(ProtocolError, match="malformed"):
        _decode_generator(data)


@pytest.mark.parametrize(
    "change",
    [
        {"entropy": 10 ** (10**5)},  # JSON refuses it (over 4,300 digits); a caller may not
        {"entropy": [2**64] * 10**6},
        {"entropy": tuple(range(10**6))},
        {"spawn_key": (0,) * 10**6},
        {"pool_size": 10**9},
        {"pool_size": 2**70},
    ],
    ids=[
        "entropy-10^10^5",
        "entropy-million-items",
        "entropy-range",
        "spawn_key-million",
        "pool_size-10^9",
        "pool_size-2^70",
    ],
)
def test_huge_seed_sequences_are_refused_before_numpy_sees_them(change):
    start = time.perf_counter()
    with pytest.raises(GeneratorError, match="malformed SeedSequence"):
        make_generator({"state": PCG64_STATE, "seed_seq": {**GOOD_SEED, **change}})
    assert time.perf_counter() - start < 0.5


def test_generators_of_other_bit_generators_cannot_be_sent():
    class Mine(np.random.PCG64):
        pass

    with pytest.raises(ProtocolError, match="cannot be sent"):
        encode_frame(np.random.Generator(Mine(1)))


def test_list_tuple_and_dict_subclasses_travel_as_their_base_type():
    """A `class Params(list)` holding a student's parameters is plain data; its overrides never
    run in the encoder (it reads with the base type's own methods)."""

    class Params(list):
        def __iter__(self):
            raise RuntimeError("never called")

    class Pair(tuple):
        def __iter__(self):
            raise RuntimeError("never called")

    class Table(dict):
        def items(self):
            raise RuntimeError("never called")

    out = roundtrip({"p": Params([1.0, np.arange(2.0)]), "t": Pair((1, "a")), "d": Table(k=[2])})
    assert type(out["p"]) is list and out["p"][0] == 1.0 and out["p"][1].tolist() == [0.0, 1.0]
    assert type(out["t"]) is tuple and out["t"] == (1, "a")
    assert type(out["d"]) is dict and out["d"] == {"k": [2]}


def test_the_wire_code_imports_numpy_random_only_when_a_generator_crosses():
    # numpy.random costs every worker ~12 ms at start; most notebooks never touch it.
    code = (
        "import os, sys\n"
        "from dlhw.autograder.wire.protocol import Channel, encode_frame\n"
        "def roundtrip(value):\n"
        "    r, w = os.pipe()\n"
        "    os.write(w, encode_frame(value))\n"
        "    return Channel(r, w).receive()\n"
        "roundtrip({'x': 1.5, 'a': __import__('numpy').zeros(3)})\n"
        "assert 'numpy.random' not in sys.modules, 'imported at start'\n"
        "import numpy as np\n"
        "gen = np.random.default_rng(7)\n"
        "out = roundtrip({'rng': gen})['rng']\n"
        "assert type(out) is np.random.Generator and out.random() == gen.random()\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr


def _array_entry(index: int, n: int) -> dict[str, Any]:
    return {"__ndarray__": index, "dtype": "<f8", "shape": [n], "scalar": False}


def test_a_frame_with_a_buffer_no_array_uses_is_refused():
    # A worker writing frames of its own could otherwise send a small array beside a large
    # buffer nothing refers to: the array, a view of the frame, would keep it all alive.
    body = {"__tuple__": [_array_entry(0, 1)]}
    header = json.dumps({"body": body, "buffers": [8, 2**20]}).encode()
    with pytest.raises(ProtocolError, match="no array uses"):
        decode_frame(header, [memoryview(bytearray(8)), memoryview(bytearray(2**20))])


def test_a_small_array_does_not_keep_its_large_frame_alive():
    big, small = 2**17, 4  # float64 counts
    frame = memoryview(bytearray(8 * (big + small)))
    bufs = [frame[: 8 * big], frame[8 * big :]]
    header = json.dumps(
        {"body": {"__tuple__": [_array_entry(0, big), _array_entry(1, small)]},
         "buffers": [8 * big, 8 * small]}
    ).encode()  # fmt: skip
    large, little = decode_frame(header, bufs)
    assert not np.shares_memory(little, np.frombuffer(frame, dtype=np.uint8))
    assert little.flags.owndata and little.flags.writeable
    # The large one stays a view: a reply of the largest admitted size costs its size once.
    assert np.shares_memory(large, np.frombuffer(frame, dtype=np.uint8))


def _receive_all(frame: bytes) -> Any:
    stream = io.BytesIO(frame)

    def read_into(view: memoryview) -> None:
        if stream.readinto(view) != len(view):
            raise EOFError("short frame")

    return Channel(-1, -1).receive(read_into)


def test_alignment_padding_counts_in_the_frame_a_view_keeps_alive():
    """Each buffer starts at a multiple of 64 bytes: 40,000 arrays of one byte take 2.5 MiB of
    the frame's memory, though they list only 40 KB. A 40 KB array beside them, at least half of
    the listed bytes, stayed a view and kept all 2.5 MiB alive (64 times its size)."""
    tiny = 40_000
    entries = [{"__ndarray__": i, "dtype": "|u1", "shape": [1], "scalar": False}
               for i in range(tiny)]  # fmt: skip
    entries.append({"__ndarray__": tiny, "dtype": "|u1", "shape": [tiny], "scalar": False})
    header = json.dumps({"body": {"__tuple__": entries}, "buffers": [1] * tiny + [tiny]}).encode()
    value = _receive_all(HEADER.pack(len(header)) + header + bytes(2 * tiny))
    assert value[-1].shape == (tiny,)
    assert value[-1].flags.owndata, "a 40 KB array kept 2.5 MiB of padded frame alive"


def test_replies_that_only_reference_cycles_hold_are_freed_as_more_arrive():
    """A failed test's traceback keeps its reply in a reference cycle, which the collector frees
    only when it counts enough new objects, not bytes: replies under the 4 MiB that made the
    grader collect first (3 MiB arrays, or 300 KB of JSON that parses into 5 MB of objects)
    piled up, one per failed test, until the collector happened to run."""
    import gc
    import weakref

    array_frame = encode_frame(np.zeros(3 * 2**17))  # 3 MiB
    keys_frame = encode_frame({f"k{i:06d}": 0 for i in range(20_000)})  # ~300 KB of JSON
    arrays = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(40):
            value = _receive_all(array_frame)
            arrays.append(weakref.ref(value))
            cycle: list[Any] = [value]
            cycle.append(cycle)
        alive_arrays = sum(ref() is not None for ref in arrays)
        for _ in range(40):
            value = _receive_all(keys_frame)
            cycle = [value]
            cycle.append(cycle)
        del value, cycle
        dicts = sum(1 for o in gc.get_objects() if type(o) is dict and len(o) == 20_000)
    finally:
        gc.enable()
    # About 16 MiB (headers weighted by what they parse into) arrive between collections.
    assert alive_arrays <= 6, f"{alive_arrays} of 40 arrays of 3 MiB still held"
    assert dicts <= 6, f"{dicts} of 40 parsed dicts of 20,000 keys still held"


@pytest.mark.parametrize("shape", [(0, 2**27), (2**25, 0, 2), (0,) * 3 + (2**23,)])
def test_an_empty_array_with_huge_axes_is_refused(shape):
    # 0 bytes on the wire, but summed over its empty axis it would be gigabytes in the grader.
    with pytest.raises(ProtocolError, match="counting empty axes as 1"):
        roundtrip(np.zeros(shape, dtype=np.float64))


def test_the_refusal_of_a_huge_shape_stays_short():
    header = {"__ndarray__": 0, "dtype": "<f8", "shape": [0, 10**4000], "scalar": False}
    frame = json.dumps({"body": header, "buffers": [0]}).encode()
    with pytest.raises(ProtocolError, match="counting empty axes") as info:
        decode_frame(frame, [b""])
    assert len(str(info.value)) < 200


def test_empty_arrays_of_sensible_shape_still_cross():
    for shape in [(0,), (0, 10), (3, 0, 784), (0, 2**20)]:
        arr = roundtrip(np.zeros(shape, dtype=np.float32))
        assert arr.shape == shape and arr.dtype == np.float32
