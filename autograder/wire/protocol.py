"""The plain-data protocol spoken across the trust boundary.

Only plain data crosses: None, bools, ints, floats, complex numbers, strings, lists, tuples, dicts
with string keys, numeric numpy arrays (and numpy scalars), numpy random Generators (by value: the
state of an allow-listed bit generator and its SeedSequence, see generators.py), and `Ref`s:
references to objects the worker keeps (an id, the worker generation that issued it, a class
name; whether a reference was really issued is checked by the side that receives it, see
remote.py and object_table.py).
Nothing is ever pickled. A frame is

    8-byte little-endian length of a UTF-8 JSON header | JSON header | raw array buffers

where the header holds the encoded value and the byte length of each buffer. The decoder is strict:
it checks every size before allocating, accepts only numeric dtypes, and raises `ProtocolError` on
anything else, so a hostile peer can make a call fail but cannot make the trusted side run code.
"""

from __future__ import annotations

import gc
import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlhw.autograder.wire.generators import (
    GeneratorError,
    generator_state,
    is_generator,
    make_generator,
)
from dlhw.autograder.wire.text import clean

HEADER = struct.Struct("<Q")
NUMERIC_KINDS = frozenset("biufc")  # bool, signed, unsigned, float, complex
MAX_DEPTH = 32


class ProtocolError(Exception):
    """A frame or value that is not plain data, or that breaks a size limit."""


@dataclass(frozen=True)
class FrameLimits:
    """Upper bounds on what one frame may carry; checked before anything is allocated."""

    # A header's JSON is parsed into Python objects of several times its size: 4 MiB holds
    # 100,000 numbers with room to spare (a legitimate reply is far smaller).
    max_json_bytes: int = 4 * 2**20
    max_total_bytes: int = 32 * 2**20  # as Limits.max_value_bytes (the worker uses this default)
    max_items: int = 100_000


DEFAULT_LIMITS = FrameLimits()
MAX_REF_ID = 2**53  # ids and epochs stay exact in any JSON reader
MAX_CLASS_NAME = 100


@dataclass(frozen=True)
class Ref:
    """A reference to an object that stays in the worker: plain data, never the object."""

    id: int
    epoch: int  # the worker generation that issued it: a restarted worker makes it stale
    cls: str  # the declared class the object is an instance of


def _ref_fields(id_: object, epoch: object, cls: object) -> list[Any]:
    """The fields of a reference as they travel, checked."""
    if not (
        type(id_) is int
        and type(epoch) is int
        and 0 <= id_ < MAX_REF_ID
        and 0 <= epoch < MAX_REF_ID
        and type(cls) is str
        and 0 < len(cls) <= MAX_CLASS_NAME
    ):
        raise ProtocolError("malformed reference")
    return [id_, epoch, cls]


def _describe(obj: object) -> str:
    kind = type(obj)
    return (
        f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__name__
    )


_INLINE = (int, str, bool, type(None))  # exact types that encode as themselves
_DECODE_INLINE = (int, float, bool, type(None))  # exact types that decode as themselves


class _Encoder:
    def __init__(self, max_bytes: int) -> None:
        self.buffers: list[bytes | memoryview] = []
        self.max_bytes = max_bytes
        self.array_bytes = 0

    def _reserve(self, arr: np.ndarray | np.generic) -> None:
        """Count an array's bytes before copying it: a broadcast view of a few bytes can stand
        for gigabytes, which the copy would try to allocate."""
        self.array_bytes += arr.nbytes
        if self.array_bytes > self.max_bytes:
            raise ProtocolError(
                f"value is at least {self.array_bytes / 2**20:.1f} MiB, "
                f"over the {self.max_bytes / 2**20:.0f} MiB limit"
            )

    def encode(self, obj: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value is nested deeper than {MAX_DEPTH} levels")
        # Exact type checks: a subclass of int or str could carry behaviour of its own. The
        # commonest types first (a batch of object steps is lists of refs, names and numbers).
        kind = type(obj)
        if kind in _INLINE:
            return obj
        if kind is list:
            # Ints, strings and None inline (most items of a batch of object steps): no call each.
            return [x if type(x) in _INLINE else self.encode(x, depth + 1) for x in obj]
        if kind is Ref:
            return {"__ref__": _ref_fields(obj.id, obj.epoch, obj.cls)}
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if type(obj) is complex:
            return {"__complex__": [self.encode(obj.real), self.encode(obj.imag)]}
        if type(obj) is tuple:
            return {"__tuple__": [self.encode(x, depth + 1) for x in obj]}
        if type(obj) is dict:
            if not all(type(k) is str for k in obj):
                raise ProtocolError("dict keys must be strings")
            return {"__dict__": {k: self.encode(v, depth + 1) for k, v in obj.items()}}
        if is_generator(kind):  # by value: its state and SeedSequence (generators.py)
            try:
                return {"__generator__": self.encode(generator_state(obj), depth + 1)}
            except GeneratorError as exc:
                raise ProtocolError(str(exc)) from None
        if isinstance(obj, np.generic) and obj.dtype.kind in NUMERIC_KINDS:
            self._reserve(obj)
            return self._array(np.asarray(obj), scalar=True)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in NUMERIC_KINDS:
                raise ProtocolError(
                    f"arrays of dtype {obj.dtype} cannot be sent; only numeric arrays"
                )
            self._reserve(obj)
            # np.array(..., subok=False) drops ndarray subclasses: only the numbers travel.
            return self._array(np.array(obj, subok=False, copy=True), scalar=False)
        # Subclasses of list, tuple and dict travel as their base type, read with the base type's
        # own methods (their overrides never run); the receiver gets the plain type.
        kind = type(obj)
        if issubclass(kind, list):
            return self.encode(list(list.__iter__(obj)), depth)
        if issubclass(kind, tuple):
            return self.encode(tuple(tuple.__iter__(obj)), depth)
        if issubclass(kind, dict):
            return self.encode(dict(dict.items(obj)), depth)
        raise ProtocolError(f"a value of type {_describe(obj)} is not plain data")

    def _array(self, arr: np.ndarray, *, scalar: bool) -> dict[str, Any]:
        if arr.dtype.byteorder == ">":  # frames carry little-endian data
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        # The array's own bytes, not a copy (the caller's array is already one: encode): a
        # reply of a few MB otherwise cost two more copies, each in fresh pages.
        self.buffers.append(np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data)
        return {
            "__ndarray__": len(self.buffers) - 1,
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "scalar": scalar,
        }


def encode_frame(message: Any, limits: FrameLimits = DEFAULT_LIMITS) -> bytes:
    """Encode a message to one frame, refusing anything that is not plain data."""
    return b"".join(frame_parts(message, limits))


def frame_parts(message: Any, limits: FrameLimits = DEFAULT_LIMITS) -> list[bytes | memoryview]:
    """The frame of `message` in parts (its head, then each array's bytes), which, written one
    after another, make `encode_frame(message)`."""
    enc = _Encoder(limits.max_total_bytes)
    body = enc.encode(message)
    header = json.dumps({"body": body, "buffers": [len(b) for b in enc.buffers]}).encode()
    if len(header) > limits.max_json_bytes:
        raise ProtocolError(
            f"value has {len(header) / 2**20:.1f} MiB of structure (lists, strings, numbers), "
            f"over the {limits.max_json_bytes / 2**20:.0f} MiB limit: send numbers as arrays"
        )
    total = len(header) + sum(len(b) for b in enc.buffers)
    if total > limits.max_total_bytes:
        raise ProtocolError(
            f"value is {total / 2**20:.1f} MiB, over the {limits.max_total_bytes / 2**20:.0f} MiB limit"
        )
    return [HEADER.pack(len(header)) + header, *enc.buffers]


def _unchanged(text: str) -> str:
    return text


class _Decoder:
    def __init__(
        self,
        buffers: list[bytes] | list[memoryview],
        limits: FrameLimits,
        clean_text: bool = True,
        frame_bytes: int | None = None,
    ) -> None:
        self.buffers = buffers
        self.used: set[int] = set()
        # What a view of the frame keeps alive: the whole allocation, alignment padding included.
        self.frame_bytes = sum(len(b) for b in buffers) if frame_bytes is None else frame_bytes
        self.limits = limits
        self.items = 0
        self.text = clean if clean_text else _unchanged
        # Exact types a list's items decode as without a call (strings too, if not cleaned).
        self.inline = _DECODE_INLINE if clean_text else (*_DECODE_INLINE, str)

    def decode(self, obj: Any, depth: int = 0) -> Any:
        self.items += 1
        if self.items > self.limits.max_items:
            raise ProtocolError(f"value has more than {self.limits.max_items} items")
        if depth > MAX_DEPTH + 1:
            raise ProtocolError(f"value is nested deeper than {MAX_DEPTH} levels")
        if type(obj) is str:
            return self.text(obj)  # student text is made safe once, here (see text.py)
        if obj is None or type(obj) in (bool, int, float):
            return obj
        if type(obj) is list:
            # Numbers, bools and None inline (most items of object steps and their replies).
            self.items += len(obj)
            if self.items > self.limits.max_items:
                raise ProtocolError(f"value has more than {self.limits.max_items} items")
            return [x if type(x) in self.inline else self.decode(x, depth + 1) for x in obj]
        if type(obj) is not dict:
            raise ProtocolError("malformed value in frame")
        if "__ndarray__" in obj:
            return self._array(obj)
        if len(obj) != 1:
            raise ProtocolError("malformed value in frame")
        ((key, inner),) = obj.items()
        if key == "__ref__":  # the commonest (object steps and their replies)
            if type(inner) is not list or len(inner) != 3:
                raise ProtocolError("malformed reference")
            return Ref(*_ref_fields(*inner))
        if key == "__tuple__" and type(inner) is list:
            return tuple(self.decode(x, depth + 1) for x in inner)
        if key == "__dict__" and type(inner) is dict:
            return {self.text(k): self.decode(v, depth + 1) for k, v in inner.items()}
        if key == "__float__" and inner in ("nan", "inf", "-inf"):
            return float(inner)
        if key == "__complex__" and type(inner) is list and len(inner) == 2:
            re_, im = (self.decode(x, depth + 1) for x in inner)
            if type(re_) is not float or type(im) is not float:
                raise ProtocolError("malformed complex number")
            return complex(re_, im)
        if key == "__generator__":
            try:
                return make_generator(self.decode(inner, depth + 1))
            except GeneratorError as exc:
                raise ProtocolError(str(exc)) from None
        raise ProtocolError("malformed value in frame")

    def _array(self, obj: dict[str, Any]) -> Any:
        if set(obj) != {"__ndarray__", "dtype", "shape", "scalar"}:
            raise ProtocolError("malformed array header")
        index, dtype_str, shape = obj["__ndarray__"], obj["dtype"], obj["shape"]
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise ProtocolError("array refers to a missing buffer")
        if index in self.used:  # two arrays on one buffer would share memory
            raise ProtocolError("two arrays refer to the same buffer")
        self.used.add(index)
        if type(dtype_str) is not str or len(dtype_str) > 8:
            raise ProtocolError("malformed dtype")
        try:
            dtype = np.dtype(dtype_str)
        except (TypeError, ValueError, SyntaxError) as exc:
            raise ProtocolError(f"unknown dtype {clean(dtype_str)!r}") from exc
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None:
            raise ProtocolError(f"arrays of dtype {dtype} are not accepted; only numeric arrays")
        if (
            type(shape) is not list
            or len(shape) > 32
            or not all(type(n) is int and n >= 0 for n in shape)
        ):
            raise ProtocolError("malformed array shape")
        if type(obj["scalar"]) is not bool:
            raise ProtocolError("malformed array header")
        # An empty array holds no bytes whatever its other dimensions: (0, 2**27) is 0 bytes, but
        # a test summing it over axis 0 would allocate 1 GiB. Counted as if its zeros were ones,
        # no array may be over the frame limit.
        if math.prod(max(n, 1) for n in shape) * dtype.itemsize > self.limits.max_total_bytes:
            described = str(tuple(shape))
            described = described if len(described) <= 80 else described[:77] + "..."
            raise ProtocolError(
                f"array of shape {described} is over the "
                f"{self.limits.max_total_bytes / 2**20:.0f} MiB limit (counting empty axes as 1)"
            )
        data = self.buffers[index]
        if math.prod(shape) * dtype.itemsize != len(data):
            raise ProtocolError("array buffer does not match its shape and dtype")
        # No copy: the array is a view of the frame's own (writable, aligned) buffer memory, so a
        # reply of the largest admitted size costs its size once in the grader, not three times.
        arr = np.frombuffer(data, dtype=dtype).reshape(shape)
        # A copy when the buffer is read-only (bytes: tests, small frames), and when the array is
        # under half its frame: a view keeps the whole frame alive, so a small array kept by a
        # test, sent beside a large one the test drops, would pin up to the frame's limit.
        if not arr.flags.writeable or 2 * len(data) < self.frame_bytes:
            arr = arr.copy()
        return arr[()] if obj["scalar"] and arr.ndim == 0 else arr


def parse_header(
    raw: bytes | bytearray, limits: FrameLimits = DEFAULT_LIMITS
) -> tuple[Any, list[int]]:
    """The body and the buffer sizes of a frame header; ProtocolError for anything malformed.

    Brackets are counted before parsing: every list or object costs the parser a Python object
    (an empty one is 56 bytes for a 3-byte `[],`), so a header may hold at most `max_items`."""
    if raw.count(b"[") + raw.count(b"{") > limits.max_items:
        raise ProtocolError(f"value has more than {limits.max_items} items")
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"frame header is not valid JSON: {clean(str(exc))[:200]}") from None
    if type(parsed) is not dict or "body" not in parsed:
        raise ProtocolError("frame header is malformed")
    sizes = parsed.get("buffers", [])
    # The list of sizes is one bracket however long: bound its length too (first: checking 2
    # million entries is work too). Every array of the body is an object, so a frame of at most
    # `max_items` brackets needs at most that many buffers; without this, a 4 MiB header listing
    # 2 million buffers of 0 or 1 bytes cost the receiver a memoryview each and a 64-byte slot
    # each (~600 MiB; Channel.receive).
    if type(sizes) is list and len(sizes) > limits.max_items:
        raise ProtocolError(f"frame header lists more than {limits.max_items} buffers")
    if type(sizes) is not list or not all(type(n) is int and n >= 0 for n in sizes):
        raise ProtocolError("frame header lists malformed buffer sizes")
    return parsed["body"], sizes


def decode_body(
    body: Any,
    buffers: list[bytes] | list[memoryview],
    limits: FrameLimits = DEFAULT_LIMITS,
    clean_text: bool = True,
    frame_bytes: int | None = None,
) -> Any:
    """Plain data from a parsed body. Any malformed part is a ProtocolError, never another
    exception: the grader treats those as the worker breaking the protocol, not as its own bug.

    Strings are cleaned (text.py) unless `clean_text` is False: the worker's side, which receives
    only what the grader sends (cells exactly as written, test arguments), passes False.
    `frame_bytes` is the size of the memory the buffers are views of (default: their sum)."""
    try:
        decoder = _Decoder(buffers, limits, clean_text, frame_bytes)
        value = decoder.decode(body)
        if len(decoder.used) != len(buffers):
            # Memory no value holds, which views of the frame would keep alive (see _array).
            raise ProtocolError("the frame has buffers that no array uses")
        return value
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        raise ProtocolError(f"malformed frame ({type(exc).__name__})") from None


def decode_frame(
    header: bytes, buffers: list[bytes] | list[memoryview], limits: FrameLimits = DEFAULT_LIMITS
) -> Any:
    body, _ = parse_header(header, limits)
    return decode_body(body, buffers, limits)


JOIN_BELOW = 2**16  # a frame up to this size is joined and written at once
ALIGN = 64  # each array starts at a multiple of this from the (16-byte aligned) frame buffer
# Earlier replies may be unreachable but not yet freed: a failed test's traceback holds its
# frames, which hold the reply (a reference cycle), and the collector runs on counts of objects,
# not bytes. So before a frame's memory is allocated, the collector runs if the frame is this
# large, or if this much has arrived since it last ran (replies of 3 MiB kept by 60 failed tests
# would otherwise hold 180 MiB): the grader holds about one large reply at a time.
LARGE_FRAME = 4 * 2**20
COLLECT_EVERY = 4 * LARGE_FRAME
# A header counts this many times its size: parsed, its JSON becomes Python objects of up to ~15
# times as many bytes (a dict of 100,000 short keys from 1 MiB of JSON is ~10 MiB).
HEADER_WEIGHT = 16
_arrived = 0  # bytes (headers weighted) received by this process since the collector last ran


def _make_room(nbytes: int) -> None:
    """Run the collector before `nbytes` more are allocated for a frame, when due (LARGE_FRAME)."""
    global _arrived
    if nbytes >= LARGE_FRAME or _arrived + nbytes >= COLLECT_EVERY:
        gc.collect()
        _arrived = 0
    _arrived += nbytes


def _blocking_read_into(fd: int) -> Any:
    def read_into(view: memoryview) -> None:
        while view:
            n = os.readv(fd, [view])
            if not n:
                raise EOFError("peer closed the channel")
            view = view[n:]

    return read_into


def _blocking_write(fd: int) -> Any:
    def write(view: memoryview) -> None:
        while view:
            view = view[os.write(fd, view) :]

    return write


class Channel:
    """Framed messages over a pair of file descriptors (pipes).

    `send` and `receive` block by default (the worker's side); the grader passes its own
    `write(view)` and `read_into(view)`, which impose deadlines (session.py)."""

    def __init__(
        self,
        read_fd: int,
        write_fd: int,
        limits: FrameLimits = DEFAULT_LIMITS,
        *,
        clean_text: bool = True,
    ) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.limits = limits
        self.clean_text = clean_text  # see decode_body

    def send(self, message: Any, write: Any = None) -> None:
        write = write or _blocking_write(self.write_fd)
        parts = frame_parts(message, self.limits)
        if sum(len(p) for p in parts) <= JOIN_BELOW:
            write(memoryview(b"".join(parts)))  # one write for a small frame
        else:
            for part in parts:  # the arrays' bytes as they are: no copy into one frame
                write(memoryview(part))

    def receive(self, read_into: Any = None) -> Any:
        """Read one frame into memory sized from its header, after checking every size."""
        read = read_into or _blocking_read_into(self.read_fd)
        head = bytearray(HEADER.size)
        read(memoryview(head))
        (json_len,) = HEADER.unpack(head)
        if json_len > self.limits.max_json_bytes:
            raise ProtocolError(f"frame header of {json_len} bytes is over the limit")
        _make_room(json_len * HEADER_WEIGHT)
        header = bytearray(json_len)
        read(memoryview(header))
        body, sizes = parse_header(header, self.limits)
        if json_len + sum(sizes) > self.limits.max_total_bytes:
            raise ProtocolError(
                f"value is {sum(sizes) / 2**20:.1f} MiB, "
                f"over the {self.limits.max_total_bytes / 2**20:.0f} MiB limit"
            )
        del header
        slots = [-(-n // ALIGN) * ALIGN for n in sizes]
        _make_room(sum(slots))
        data = memoryview(bytearray(sum(slots)))
        buffers, offset = [], 0
        for n, slot in zip(sizes, slots, strict=True):
            buffers.append(data[offset : offset + n])
            read(buffers[-1])
            offset += slot
        return decode_body(body, buffers, self.limits, self.clean_text, len(data))
