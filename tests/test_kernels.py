"""dlhw.kernels: the C++ CPU matmul and the backend-independent API.

Results are compared with float64 products computed by numpy (and by torch) from the same
inputs. The tolerance is the classical worst-case bound for a dot product of length K computed
in any order in precision u (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1):

    |fl(a . b) - a . b| <= gamma_K * (|a| . |b|),   gamma_K = K u / (1 - K u)

so it grows with K and holds for every summation order (blocking, FMA), whatever the data.
CUDA tests are in test_kernels_cuda.py.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from dlhw import kernels
from dlhw.kernels import backends

UNIT_ROUNDOFF = {np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}

# (m, k, n): a is m x k, b is k x n. Chosen around the kernel's blocking (MR = 6, NR = 16 or 8,
# MC = 144 or 72, KC = 256, NC = 4080) so that every edge case of the packing is crossed.
SHAPES = [
    (1, 1, 1),
    (17, 33, 9),
    (127, 129, 131),
    (3, 5000, 4),  # K >> M, N: many KC blocks accumulated into a tiny C
    (6, 256, 16),  # exactly one float32 register tile and one KC block
    (7, 257, 17),  # one past each of those
    (145, 300, 33),  # M crosses MC (float32) twice the float64 MC
    (5, 3, 4100),  # N crosses NC
    (64, 64, 64),
]


def error_bound(a: np.ndarray, b: np.ndarray, dtype: np.dtype, *, results: int = 1) -> np.ndarray:
    """Elementwise worst-case bound gamma_K |a| |b| for `results` products computed in `dtype`
    (2 when the reference itself is computed in that precision, as for float64). K + 1 instead
    of K: one unit of slack."""
    k = a.shape[1]
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    gamma = (k + 1) * u / (1 - (k + 1) * u)
    magnitude = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    # The smallest normal number keeps the bound positive where |a| |b| underflows or is zero.
    return results * gamma * magnitude + np.finfo(dtype).tiny


def random_operands(m: int, k: int, n: int, dtype: type, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    return a, b


def assert_close_to_float64(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    reference = a.astype(np.float64) @ b.astype(np.float64)
    # float32 kernels: only our product rounds (the float64 reference's error is ~2^-29 times
    # smaller). float64 kernels: ours and numpy's reference both round, hence results=2.
    results = 2 if c.dtype == np.float64 else 1
    bound = error_bound(a, b, c.dtype, results=results)
    error = np.abs(c.astype(np.float64) - reference)
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    assert np.all(error <= bound), (
        f"error {error[worst]:.3e} > bound {bound[worst]:.3e} at {worst} (k={a.shape[1]})"
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cpu_matches_float64_reference(shape: tuple[int, int, int], dtype: type) -> None:
    m, k, n = shape
    a, b = random_operands(m, k, n, dtype)
    c = kernels.cpu_matmul(a, b)
    assert c.shape == (m, n)
    assert c.dtype == dtype
    assert c.flags.c_contiguous
    assert_close_to_float64(c, a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_single_thread_equals_default_threads(dtype: type) -> None:
    # Threads split the columns of C, never a dot product, so the results are bitwise equal.
    a, b = random_operands(200, 300, 150, dtype, seed=1)
    single = kernels.cpu_matmul(a, b, threads=1)
    many = kernels.cpu_matmul(a, b, threads=4)
    np.testing.assert_array_equal(single, many)
    assert_close_to_float64(many, a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cpu_exact_on_small_integers(shape: tuple[int, int, int], dtype: type) -> None:
    # Integers in [-8, 8] have products and partial sums below 64 K <= 2^24, exact in float32
    # whatever the order: the result must equal numpy's integer product exactly. This is the
    # sharp check (a single dropped or doubled term shows), where the gamma_K bound above is loose.
    m, k, n = shape
    rng = np.random.default_rng(2)
    a_int = rng.integers(-8, 9, size=(m, k))
    b_int = rng.integers(-8, 9, size=(k, n))
    c = kernels.cpu_matmul(a_int.astype(dtype), b_int.astype(dtype))
    np.testing.assert_array_equal(c, (a_int @ b_int).astype(dtype))


def test_cpu_does_not_modify_inputs() -> None:
    a, b = random_operands(30, 40, 50, np.float32, seed=3)
    a_copy, b_copy = a.copy(), b.copy()
    c = kernels.cpu_matmul(a, b)
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(b, b_copy)
    assert not np.shares_memory(c, a) and not np.shares_memory(c, b)


@pytest.mark.parametrize("m, k, n", [(0, 5, 3), (4, 5, 0), (4, 0, 3), (0, 0, 0)])
def test_cpu_zero_sized(m: int, k: int, n: int) -> None:
    a = np.ones((m, k), dtype=np.float32)
    b = np.ones((k, n), dtype=np.float32)
    c = kernels.cpu_matmul(a, b)
    assert c.shape == (m, n)
    np.testing.assert_array_equal(c, a @ b)  # k == 0: all zeros, as numpy says


def test_cpu_propagates_nan_and_inf() -> None:
    a = np.ones((7, 9), dtype=np.float32)
    b = np.ones((9, 5), dtype=np.float32)
    a[2, 4] = np.nan
    b[3, 1] = np.inf
    np.testing.assert_array_equal(np.isnan(kernels.cpu_matmul(a, b)), np.isnan(a @ b))
    np.testing.assert_array_equal(np.isinf(kernels.cpu_matmul(a, b)), np.isinf(a @ b))


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(17, 33, 9), (127, 129, 131), (3, 5000, 4)])
def test_cpu_agrees_with_torch(shape: tuple[int, int, int]) -> None:
    torch = pytest.importorskip("torch")
    m, k, n = shape
    a, b = random_operands(m, k, n, np.float32, seed=4)
    reference = torch.matmul(torch.from_numpy(a).double(), torch.from_numpy(b).double()).numpy()
    error = np.abs(kernels.cpu_matmul(a, b).astype(np.float64) - reference)
    # torch's float64 product is an independent oracle; same gamma_K bound as above.
    assert np.all(error <= error_bound(a, b, np.float32))
    # torch's own float32 product carries the same kind of error: both within the bound.
    torch32 = torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy().astype(np.float64)
    assert np.all(np.abs(torch32 - reference) <= error_bound(a, b, np.float32))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_matmul_dispatches_to_backend(backend: str) -> None:
    a, b = random_operands(23, 45, 19, np.float32, seed=5)
    c = kernels.matmul(a, b, backend=backend)
    assert c.dtype == np.float32
    assert_close_to_float64(c, a, b)


def test_available_backends_lists_built_backends() -> None:
    names = kernels.available_backends()
    assert names[0] == "numpy"
    assert "cpu" in names  # the CPU extension is always built
    assert ("cuda" in names) == kernels.cuda_available()
    assert set(names) <= set(kernels.BACKENDS)


def test_info_reports_the_cpu_kernel() -> None:
    facts = kernels.info()
    assert facts["cpu_isa"] in {"avx2+fma", "scalar"}
    assert isinstance(facts["cpu_max_threads"], int) and facts["cpu_max_threads"] >= 1


# ---- errors ----------------------------------------------------------------------------------

F32 = np.ones((4, 3), dtype=np.float32)
F32_B = np.ones((3, 5), dtype=np.float32)


@pytest.mark.parametrize("backend", ["numpy", "cpu", "cuda"])
@pytest.mark.parametrize(
    "a, b, error, message",
    [
        (F32.astype(np.int64), F32_B.astype(np.int64), TypeError, "dtype int64"),
        (F32.astype(np.float16), F32_B.astype(np.float16), TypeError, "dtype float16"),
        (F32, F32_B.astype(np.float64), TypeError, "same dtype"),
        (F32.tolist(), F32_B, TypeError, "numpy.ndarray"),
        (np.ones(3, dtype=np.float32), F32_B, ValueError, "2-D"),
        (F32, np.ones((1, 3, 5), dtype=np.float32), ValueError, "2-D"),
        (np.ones((3, 4), dtype=np.float32).T, F32_B, ValueError, "C-contiguous"),
        (F32, np.ones((3, 10), dtype=np.float32)[:, ::2], ValueError, "C-contiguous"),
        (F32, np.ones((4, 5), dtype=np.float32), ValueError, "not aligned"),
    ],
    ids=["int", "float16", "mixed", "list", "1-D", "3-D", "transposed", "strided", "mismatch"],
)
def test_bad_operands_raise(
    backend: str, a: object, b: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        kernels.matmul(a, b, backend=backend)  # type: ignore[arg-type]


def test_cuda_rejects_float64_before_touching_the_gpu() -> None:
    a, b = random_operands(4, 3, 5, np.float64)
    with pytest.raises(TypeError, match="dtype float64; expected float32"):
        kernels.cuda_matmul(a, b)


def test_compiled_module_checks_operands_itself() -> None:
    # Called directly, bypassing the Python checks, the C++ module raises as clearly.
    cpu = backends.cpu_module()
    with pytest.raises(ValueError, match="C-contiguous"):
        cpu.matmul(np.ones((3, 4), dtype=np.float32).T, F32_B)
    with pytest.raises(ValueError, match="not aligned"):
        cpu.matmul(F32, F32)
    with pytest.raises(ValueError, match="2-D"):
        cpu.matmul(np.ones(3, dtype=np.float32), F32_B)
    with pytest.raises(TypeError, match="float32 or both float64"):
        cpu.matmul(F32, F32_B.astype(np.float64))
    with pytest.raises(TypeError):  # not an ndarray: pybind11 refuses to convert (noconvert)
        cpu.matmul(F32.tolist(), F32_B)


def test_unknown_backend_raises() -> None:
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        kernels.matmul(F32, F32_B, backend="gpu")


@pytest.mark.parametrize("threads", [0, -2, 1.5])
def test_bad_thread_count_raises(threads: object) -> None:
    with pytest.raises(ValueError, match="threads"):
        kernels.cpu_matmul(F32, F32_B, threads=threads)  # type: ignore[arg-type]


def test_cuda_without_device_raises_runtime_error() -> None:
    if kernels.cuda_available():
        pytest.skip("a CUDA device is available here; see test_kernels_cuda.py")
    with pytest.raises(RuntimeError, match="no CUDA device|not built|could not be imported"):
        kernels.cuda_matmul(F32, F32_B)
    assert "cuda" not in kernels.available_backends()


@pytest.mark.parametrize(
    "status",
    [
        "not built: nvcc was not found at build time",
        "not built: disabled at build time (-DDLHW_CUDA=OFF)",
    ],
)
def test_cuda_not_built_names_the_reason(monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    # As an install without the CUDA extension sees it: _cuda missing, _build_info saying why.
    build_info = SimpleNamespace(CUDA_BUILT=False, CUDA_STATUS=status, CPU_FLAGS="")
    real_import = backends._import

    def fake_import(name: str) -> tuple[object, str]:
        if name == "_cuda":
            return None, "ModuleNotFoundError: No module named 'dlhw.kernels._cuda'"
        if name == "_build_info":
            return build_info, ""
        return real_import(name)

    monkeypatch.setattr(backends, "_import", fake_import)
    with pytest.raises(RuntimeError, match=re.escape(status)):
        kernels.cuda_matmul(F32, F32_B)
    with pytest.raises(RuntimeError, match=re.escape(status)):
        kernels.matmul(F32, F32_B, backend="cuda")
    assert not kernels.cuda_available()
    assert kernels.available_backends() == ["numpy", "cpu"]
    # The other backends still work.
    np.testing.assert_array_equal(kernels.matmul(F32, F32_B, backend="cpu"), F32 @ F32_B)
