"""A notebook cell that answers a call with a forged reply of any size, holding almost none of it.

A hostile notebook can write to the grader's pipe itself (the descriptor is in the worker's
argv), so the largest reply the limits admit is not bounded by the worker's own memory. Used by
the corpus (cases_io.py) and by benchmarks/bench_grader_memory.py."""

FLOOD = '''
import json as _json
import os as _os
import sys as _sys
import time as _time

from dlhw.autograder.wire import protocol as _protocol


def flood(nbytes, dtype="|u1", where="value", count=1):
    """Answer the current call with `count` arrays of about `nbytes` bytes each, written straight
    to the grader's pipe from a 1 MiB block; never return (the grader acts on this reply)."""
    fd = int(_sys.argv[_sys.argv.index("--write-fd") + 1])
    itemsize = int(dtype[2:])
    arrays = [{"__ndarray__": i, "dtype": dtype, "shape": [nbytes // itemsize], "scalar": False}
              for i in range(count)]
    if where == "value":
        body = {"__dict__": {"ok": True, "value": arrays[0] if count == 1 else arrays}}
    else:  # the arguments of an in-place call (`with_args`)
        body = {"__dict__": {"ok": True, "value": None, "args": arrays,
                             "kwargs": {"__dict__": {}}}}
    size = nbytes // itemsize * itemsize
    header = _json.dumps({"body": body, "buffers": [size] * count}).encode()
    _os.write(fd, _protocol.HEADER.pack(len(header)) + header)
    block = bytes(2**20)
    for _ in range(count):
        left = size
        while left:
            left -= _os.write(fd, block[: min(left, len(block))])
    _time.sleep(3600)
'''
