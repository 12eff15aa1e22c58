"""dlhw.kernels CUDA matmul.

Three layers, so that the kernel is checked even where there is no GPU:
  * the CUDA sources compile with nvcc for sm_90 (wherever nvcc exists);
  * the kernel itself (kernels/src/cuda_gemm_kernel.cuh) runs on CPU threads under a small CUDA
    shim (kernels/emulation/), compiled with g++: indexing, double buffering and boundary
    handling are compared with numpy's float64 product;
  * on a CUDA device (marked `cuda`): the compiled module against numpy and torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dlhw import kernels

try:  # tests/ on sys.path (pytest's default "prepend" import mode, no tests/__init__.py)
    from test_kernels import SHAPES, assert_close_to_float64, error_bound, random_operands
except ImportError:  # tests/ is a package
    from tests.test_kernels import SHAPES, assert_close_to_float64, error_bound, random_operands

KERNELS = Path(__file__).resolve().parent.parent / "kernels"
NVCC = shutil.which("nvcc")
CXX = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("g++")

needs_device = pytest.mark.skipif(
    not kernels.cuda_available(),
    reason=f"no usable CUDA device: {kernels.backends.cuda_device_status()[1]}",
)


# ---- compiles with nvcc ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(NVCC is None, reason="nvcc not found on PATH")
def test_cuda_source_compiles_for_sm90(tmp_path: Path) -> None:
    assert NVCC is not None
    for source in sorted((KERNELS / "src").glob("*.cu")):
        obj = tmp_path / (source.stem + ".o")
        result = subprocess.run(
            [NVCC, "-std=c++17", "-O3", "-arch=sm_90", "-c", str(source), "-o", str(obj)],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"nvcc failed on {source.name}:\n{result.stderr}"
        assert obj.stat().st_size > 0


# ---- the kernel, emulated on CPU threads -----------------------------------------------------


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CXX is None:
        pytest.skip("no C++ compiler (g++) to build the CUDA-kernel emulator")
    exe = tmp_path_factory.mktemp("emulator") / "sgemm_emulate"
    result = subprocess.run(
        [
            CXX,
            "-std=c++20",
            "-O1",
            "-fno-strict-aliasing",
            "-pthread",
            "-Wno-unknown-pragmas",
            str(KERNELS / "emulation" / "sgemm_emulate.cpp"),
            "-o",
            str(exe),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 and "barrier" in result.stderr:
        pytest.skip(f"{CXX} lacks C++20 <barrier>:\n{result.stderr[-500:]}")
    assert result.returncode == 0, result.stderr
    return exe


def run_emulated(
    exe: Path, a: np.ndarray, b: np.ndarray, tmp: Path, mode: str
) -> tuple[np.ndarray, str]:
    m, k = a.shape
    n = b.shape[1]
    a.tofile(tmp / "a.bin")
    b.tofile(tmp / "b.bin")
    result = subprocess.run(
        [
            str(exe),
            str(m),
            str(n),
            str(k),
            str(tmp / "a.bin"),
            str(tmp / "b.bin"),
            str(tmp / "c.bin"),
            mode,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    c = np.fromfile(tmp / "c.bin", dtype=np.float32).reshape(m, n)
    return c, result.stdout.strip()


# (m, k, n) of SHAPES plus ones for the 128 x 128 x 8 tiling: exact tiles, one past, float4 path.
EMULATED_SHAPES = [s for s in SHAPES if s[0] * s[1] * s[2] <= 2_000_000 and s[2] < 1000] + [
    (128, 8, 128),
    (129, 9, 129),
    (256, 64, 128),  # K, N multiples of 4: the float4 path
    (130, 20, 260),  # float4 path with partial tiles in M and N
]


@pytest.mark.parametrize("shape", EMULATED_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_emulated_kernel_matches_float64_reference(
    emulator: Path, tmp_path: Path, shape: tuple[int, int, int]
) -> None:
    m, k, n = shape
    a, b = random_operands(m, k, n, np.float32, seed=7)
    c, path = run_emulated(emulator, a, b, tmp_path, "auto")
    assert path == ("vec" if k % 4 == 0 and n % 4 == 0 else "scalar")
    # The output starts as NaN in the emulator: an element never written fails here.
    assert not np.isnan(c).any()
    assert_close_to_float64(c, a, b)


@pytest.mark.parametrize("mode", ["auto", "scalar"])
def test_emulated_kernel_exact_on_small_integers(emulator: Path, tmp_path: Path, mode: str) -> None:
    # Exact in float32 (see test_kernels.py): any misplaced or missing term shows. 256 x 64 x 132
    # takes the float4 path in "auto" and the scalar path in "scalar".
    rng = np.random.default_rng(8)
    a_int = rng.integers(-8, 9, size=(256, 64))
    b_int = rng.integers(-8, 9, size=(64, 132))
    c, path = run_emulated(
        emulator, a_int.astype(np.float32), b_int.astype(np.float32), tmp_path, mode
    )
    assert path == ("vec" if mode == "auto" else "scalar")
    np.testing.assert_array_equal(c, (a_int @ b_int).astype(np.float32))


# ---- on a CUDA device ------------------------------------------------------------------------


@pytest.mark.cuda
@needs_device
@pytest.mark.parametrize(
    "shape", SHAPES + [(1000, 1000, 1000), (513, 257, 1025)], ids=lambda s: "x".join(map(str, s))
)
def test_cuda_matches_float64_reference(shape: tuple[int, int, int]) -> None:
    m, k, n = shape
    a, b = random_operands(m, k, n, np.float32, seed=9)
    c = kernels.cuda_matmul(a, b)
    assert c.shape == (m, n) and c.dtype == np.float32
    assert_close_to_float64(c, a, b)
    np.testing.assert_array_equal(c, kernels.matmul(a, b, backend="cuda"))


@pytest.mark.cuda
@needs_device
@pytest.mark.parametrize("shape", [(37, 301, 23), (256, 64, 132), (3, 5000, 4)])
def test_cuda_exact_on_small_integers(shape: tuple[int, int, int]) -> None:
    m, k, n = shape
    rng = np.random.default_rng(10)
    a_int = rng.integers(-8, 9, size=(m, k))
    b_int = rng.integers(-8, 9, size=(k, n))
    c = kernels.cuda_matmul(a_int.astype(np.float32), b_int.astype(np.float32))
    np.testing.assert_array_equal(c, (a_int @ b_int).astype(np.float32))


@pytest.mark.cuda
@needs_device
@pytest.mark.parametrize("m, k, n", [(0, 5, 3), (4, 0, 3)])
def test_cuda_zero_sized(m: int, k: int, n: int) -> None:
    c = kernels.cuda_matmul(np.ones((m, k), np.float32), np.ones((k, n), np.float32))
    np.testing.assert_array_equal(c, np.zeros((m, n), np.float32))


@pytest.mark.cuda
@pytest.mark.torch
@needs_device
def test_cuda_device_pointers_agree_with_torch() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch build has no CUDA")
    from dlhw.kernels import backends

    m, k, n = 300, 517, 260
    a, b = random_operands(m, k, n, np.float32, seed=11)
    ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
    tc = torch.empty((m, n), device="cuda", dtype=torch.float32)
    backends.cuda_module().matmul_device_ptr(
        ta.data_ptr(),
        tb.data_ptr(),
        tc.data_ptr(),
        m,
        n,
        k,
        torch.cuda.current_stream().cuda_stream,
    )
    torch.cuda.synchronize()
    reference = torch.matmul(ta.double(), tb.double()).cpu().numpy()
    error = np.abs(tc.cpu().numpy().astype(np.float64) - reference)
    assert np.all(error <= error_bound(a, b, np.float32))
