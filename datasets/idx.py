"""Reading IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or not).

An IDX file is a big-endian header followed by the raw array:

    byte 0-1   zero
    byte 2     element type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
    byte 3     number of dimensions d
    4*d bytes  the size of each dimension, unsigned 32-bit big-endian
    the data   prod(sizes) elements, big-endian, C order

Whether a file is gzip-compressed is decided by its first two bytes, not by its name.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"

#: IDX element-type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: More dimensions than this is not an IDX file we would ever meet (MNIST has 1 or 3).
MAX_DIMS = 8


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_maybe_gzip(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a file for binary reading, decompressing it on the fly when it is gzip."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_idx_bytes(path: str | os.PathLike[str]) -> bytes:
    """The decompressed bytes of an IDX file; a broken gzip stream becomes a ValueError."""
    try:
        with open_maybe_gzip(path) as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"{path}: truncated or corrupt gzip stream ({err})") from err


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the decompressed bytes of an IDX file into an array in native byte order."""
    if len(data) < 4:
        raise ValueError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise ValueError(
            f"{name}: not an IDX file (magic number {data[:4].hex()}; "
            "expected two zero bytes, a type code and a dimension count)"
        )
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX element type 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= MAX_DIMS:
        raise ValueError(f"{name}: IDX dimension count {ndim} is outside 1..{MAX_DIMS}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(f"{name}: truncated IDX header ({len(data)} of {header_len} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise ValueError(
            f"{name}: IDX data {what}: shape {shape} of {dtype.name} needs {expected} bytes "
            f"after the header, found {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    # astype copies: the result is writable and in native byte order.
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip or plain) into a numpy array of its declared type and shape.

    Raises ValueError, naming the file, when the header is not IDX, the type code is unknown,
    or the data are shorter or longer than the header says.
    """
    return parse_idx(read_idx_bytes(path), name=str(Path(path)))
