"""The plain-data protocol: what may cross the trust boundary, and what is refused."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dlhw.autograder.protocol import (
    DEFAULT_LIMITS,
    HEADER,
    Channel,
    FrameLimits,
    ProtocolError,
    Ref,
    decode_frame,
    encode_frame,
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
