// pybind11 bindings of the CPU GEMM: module dlhw.kernels._cpu.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "array_checks.h"
#include "cpu_gemm.h"

namespace py = pybind11;

namespace {

template <typename T>
py::array_t<T> gemm(const py::array& a, const py::array& b, int threads) {
  const std::int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  py::array_t<T> c({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(n)});
  const T* pa = static_cast<const T*>(a.data());
  const T* pb = static_cast<const T*>(b.data());
  T* pc = c.mutable_data();
  {
    py::gil_scoped_release release;
    dlhw::cpu_gemm<T>(pa, pb, pc, m, n, k, threads);
  }
  return c;
}

py::array matmul(const py::array& a, const py::array& b, int threads) {
  dlhw::check_matmul_operands(a, b);
  const py::dtype f32 = py::dtype::of<float>(), f64 = py::dtype::of<double>();
  if (a.dtype().equal(f32) && b.dtype().equal(f32)) return gemm<float>(a, b, threads);
  if (a.dtype().equal(f64) && b.dtype().equal(f64)) return gemm<double>(a, b, threads);
  throw py::type_error("matmul: a and b must both be float32 or both float64, got " +
                       dlhw::dtype_str(a) + " and " + dlhw::dtype_str(b));
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "Cache-blocked, register-tiled CPU matmul (float32, float64)";
  m.def("matmul", &matmul, py::arg("a").noconvert(), py::arg("b").noconvert(),
        py::arg("threads") = 0,
        "C = a @ b for 2-D C-contiguous float32/float64 arrays; threads <= 0: OpenMP default");
  m.def("isa", &dlhw::cpu_gemm_isa, "instruction set of the micro-kernel");
  m.def("has_openmp", &dlhw::cpu_gemm_has_openmp, "whether OpenMP threads were compiled in");
  m.def("max_threads", &dlhw::cpu_gemm_max_threads, "threads used when threads <= 0");
}
