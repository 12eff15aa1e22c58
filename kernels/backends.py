"""Which matmul backends this install has, and why one is missing.

The compiled modules are imported lazily, once; an import failure is kept and reported by the
function that needed the module, so `import dlhw.kernels` itself never fails.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any

BACKENDS: tuple[str, ...] = ("numpy", "cpu", "cuda")

_REBUILD_HINT = "rebuild the package with `pip install -e .` (or `make setup`)"


@functools.cache
def _import(name: str) -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module(f"{__package__}.{name}"), ""
    except ImportError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _build_info() -> ModuleType | None:
    return _import("_build_info")[0]


def cpu_module() -> ModuleType:
    """The compiled CPU kernel module; RuntimeError naming the reason if it cannot be imported."""
    module, error = _import("_cpu")
    if module is None:
        raise RuntimeError(
            f"the CPU kernel extension dlhw.kernels._cpu is not available ({error}); {_REBUILD_HINT}"
        )
    return module


def cuda_module() -> ModuleType:
    """The compiled CUDA kernel module; RuntimeError naming why it was not built or not loaded."""
    module, error = _import("_cuda")
    if module is not None:
        return module
    info = _build_info()
    if info is not None and not info.CUDA_BUILT:
        raise RuntimeError(
            f"the CUDA kernel extension dlhw.kernels._cuda was {info.CUDA_STATUS}; to build it, "
            f"put nvcc on PATH, leave DLHW_CUDA on and {_REBUILD_HINT}"
        )
    raise RuntimeError(
        f"the CUDA kernel extension dlhw.kernels._cuda could not be imported ({error}); "
        f"{_REBUILD_HINT}"
    )


def cuda_device_status() -> tuple[int, str]:
    """(number of usable CUDA devices, reason when there is none). Never raises."""
    try:
        module = cuda_module()
    except RuntimeError as exc:
        return 0, str(exc)
    count, why = module.device_status()
    return int(count), str(why)


def cuda_available() -> bool:
    """True when the CUDA kernel was built and a CUDA device is usable now."""
    return cuda_device_status()[0] > 0


def available_backends() -> list[str]:
    """The backends `matmul` can use here, in the order of BACKENDS."""
    names = ["numpy"]
    if _import("_cpu")[0] is not None:
        names.append("cpu")
    if cuda_available():
        names.append("cuda")
    return names


def info() -> dict[str, Any]:
    """Build and runtime facts, e.g. for a benchmark's header."""
    build = _build_info()
    result: dict[str, Any] = {
        "backends": available_backends(),
        "cpu_flags": getattr(build, "CPU_FLAGS", "unknown"),
        "cuda_build": getattr(build, "CUDA_STATUS", "unknown (no _build_info)"),
    }
    cpu, cpu_error = _import("_cpu")
    if cpu is None:
        result["cpu"] = cpu_error
    else:
        result["cpu_isa"] = cpu.isa()
        result["cpu_openmp"] = cpu.has_openmp()
        result["cpu_max_threads"] = cpu.max_threads()
    count, why = cuda_device_status()
    result["cuda_devices"] = count
    if count > 0:
        result["cuda_device"] = cuda_module().device_name(0)
    else:
        result["cuda_unavailable"] = why
    return result
