"""The file that holds a folder's recorded oracle values: plain arrays and a JSON index, never pickle.

`recorded_oracles.npz` is a zip of .npy arrays (read with `allow_pickle=False`): `__index__` is
the UTF-8 JSON index, and one flat array per dtype (`pool_f8`, `pool_f4`, `pool_i8`, ...) holds
every value of that dtype, end to end. The index says, for every key
(`stem.oracle:sha256-of-inputs`), what kind of value it is, where in which pool each of its arrays
lies (pool, offset, shape) and what the inputs were (dtype and shape, for a reader). A few pools,
not one member per array: homework 4 records ~3,700 arrays, and reading each as a zip member of
its own cost ~0.3 s of every grading run; the pools load in a few milliseconds. Files are written
deterministically (sorted, fixed timestamps): recording unchanged values again leaves the file
byte for byte the same.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

STORE_NAME = "recorded_oracles.npz"
FORMAT = 2

# A value, frozen: ("float" | "int" | "array", ndarray) or ("tuple", tuple of values).
Value = tuple[str, Any]

# A re-recorded value may move by summation order when torch changes (~1e-15 relative in
# float64, ~1e-7 in float32); every hidden test allows far more (rtol >= 1e-7 on float64 results
# that differ from float32 ones by ~1e-7). So a record within these bounds grades exactly as a
# live value would, and one outside them is stale.
STALE_RTOL = {"f8": 1e-10, "f4": 1e-6}


class StoreError(Exception):
    """A recorded-oracles file that cannot be read (damaged, or not in this format)."""


@dataclass(frozen=True)
class Store:
    path: Path
    entries: dict[str, Value] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def check_value(value: Any, name: str) -> Value:
    """Freeze an oracle's result; only numbers, numeric arrays and tuples of them are allowed."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return ("array", np.asarray(value))
    if isinstance(value, (int, np.integer)):
        return ("int", np.asarray(int(value), dtype=np.int64))
    if isinstance(value, (float, np.floating)):
        return ("float", np.asarray(float(value), dtype=np.float64))
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return ("array", np.array(value, copy=True))
    if isinstance(value, tuple):
        return ("tuple", tuple(check_value(v, name) for v in value))
    raise TypeError(
        f"oracle {name} returned {type(value).__name__}: return a number, a numeric array "
        "or a tuple of them"
    )


def thaw(value: Value) -> Any:
    """The value as the oracle returned it (fresh arrays: tests may change them)."""
    kind, data = value
    if kind == "float":
        return float(data)
    if kind == "int":
        return int(data)
    if kind == "tuple":
        return tuple(thaw(v) for v in data)
    return np.array(data, copy=True)


def same_value(live: Value, recorded: Value) -> bool:
    """Whether a live value agrees with its record (see STALE_RTOL)."""
    if live[0] != recorded[0]:
        return False
    if live[0] == "tuple":
        return len(live[1]) == len(recorded[1]) and all(
            same_value(a, b) for a, b in zip(live[1], recorded[1], strict=True)
        )
    a, b = live[1], recorded[1]
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    rtol = STALE_RTOL.get(f"f{a.dtype.itemsize}", 1e-3)
    scale = float(np.max(np.abs(b), initial=0.0)) if np.isfinite(b).all() else 0.0
    # atol relative to the largest entry: entries near zero carry the others' rounding error.
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * scale, equal_nan=True))


def _pool_name(arr: np.ndarray) -> str:
    return "pool_" + arr.dtype.str.lstrip("<>|=")


def _flatten(value: Value, pools: dict[str, list[np.ndarray]], sizes: dict[str, int]) -> Any:
    """The value's description; its arrays are appended to `pools` (little-endian, flat)."""
    kind, data = value
    if kind == "tuple":
        return ["tuple", [_flatten(v, pools, sizes) for v in data]]
    arr = np.asarray(data, dtype=data.dtype.newbyteorder("<"))
    pool = _pool_name(arr)
    offset = sizes.get(pool, 0)
    pools.setdefault(pool, []).append(arr.ravel())
    sizes[pool] = offset + arr.size
    return [kind, [pool, offset, list(arr.shape)]]


def _unflatten(spec: Any, pools: dict[str, np.ndarray]) -> Value:
    if not isinstance(spec, list) or len(spec) != 2:
        raise StoreError(f"bad value description {spec!r}")
    kind, what = spec
    if kind == "tuple":
        return ("tuple", tuple(_unflatten(s, pools) for s in what))
    if kind not in ("float", "int", "array") or not isinstance(what, list) or len(what) != 3:
        raise StoreError(f"bad value description {spec!r}")
    pool, offset, shape = what
    data = pools.get(pool) if isinstance(pool, str) else None
    if (
        data is None
        or data.ndim != 1
        or not isinstance(offset, int)
        or not isinstance(shape, list)
        or not all(isinstance(n, int) and n >= 0 for n in shape)
    ):
        raise StoreError(f"bad value description {spec!r}")
    size = math.prod(shape)
    if not 0 <= offset <= offset + size <= data.size:
        raise StoreError(f"value {spec!r} lies outside its pool of {data.size}")
    return (kind, data[offset : offset + size].reshape(tuple(shape)))


def load(path: Path) -> Store:
    """The records in `path`; an absent file is an empty store."""
    if not path.exists():
        return Store(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            pools = {name: npz[name] for name in npz.files}
        index = json.loads(bytes(pools.pop("__index__")).decode())
        if index.get("format") != FORMAT:
            raise StoreError(
                f"format {index.get('format')!r}, expected {FORMAT}: record the oracles again "
                "(`autograder record-oracles`)"
            )
        entries = {
            key: _unflatten(entry["value"], pools) for key, entry in index["entries"].items()
        }
        return Store(path, entries, index.get("recorded_with", {}))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, StoreError) as exc:
        raise StoreError(f"cannot read recorded oracles {path}: {exc}") from exc


def save(path: Path, records: dict[str, tuple[Value, str]], recorded_with: dict[str, str]) -> None:
    """Write every record (key -> (value, description of its inputs)), replacing the file."""
    pools: dict[str, list[np.ndarray]] = {}
    sizes: dict[str, int] = {}
    entries = {}
    for key in sorted(records):
        value, inputs = records[key]
        entries[key] = {"value": _flatten(value, pools, sizes), "inputs": inputs}
    members = {name: np.concatenate(parts) for name, parts in pools.items()}  # none is empty
    index = {
        "format": FORMAT,
        "recorded_with": {
            **recorded_with,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "entries": entries,
    }
    members["__index__"] = np.frombuffer(json.dumps(index, indent=1).encode(), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, members[name], allow_pickle=False)
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)
