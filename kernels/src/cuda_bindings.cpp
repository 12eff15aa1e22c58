// pybind11 bindings of the CUDA GEMM: module dlhw.kernels._cuda. Compiled by the host compiler;
// everything CUDA is behind cuda_gemm.h. std::runtime_error (CUDA errors, no device) reaches
// Python as RuntimeError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "array_checks.h"
#include "cuda_gemm.h"

namespace py = pybind11;

namespace {

py::array_t<float> matmul(const py::array& a, const py::array& b) {
  dlhw::check_matmul_operands(a, b);
  const py::dtype f32 = py::dtype::of<float>();
  if (!a.dtype().equal(f32) || !b.dtype().equal(f32)) {
    throw py::type_error("cuda matmul: a and b must both be float32, got " + dlhw::dtype_str(a) +
                         " and " + dlhw::dtype_str(b));
  }
  const std::int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  py::array_t<float> c({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(n)});
  const float* pa = static_cast<const float*>(a.data());
  const float* pb = static_cast<const float*>(b.data());
  float* pc = c.mutable_data();
  {
    py::gil_scoped_release release;
    dlhw::cuda_gemm_host(pa, pb, pc, m, n, k);
  }
  return c;
}

std::pair<int, std::string> device_status() {
  std::string why;
  const int count = dlhw::cuda_device_count(&why);
  return {count, why};
}

void matmul_device_ptr(std::uintptr_t a, std::uintptr_t b, std::uintptr_t c, std::int64_t m,
                       std::int64_t n, std::int64_t k, std::uintptr_t stream) {
  py::gil_scoped_release release;
  dlhw::cuda_gemm_device(reinterpret_cast<const float*>(a), reinterpret_cast<const float*>(b),
                         reinterpret_cast<float*>(c), m, n, k, reinterpret_cast<void*>(stream));
}

std::vector<double> time_matmul(std::int64_t m, std::int64_t n, std::int64_t k, int repeats,
                                int warmup) {
  py::gil_scoped_release release;
  return dlhw::cuda_gemm_time(m, n, k, repeats, warmup);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "CUDA float32 matmul: shared-memory tiling, 8x8 register blocking, float4 loads";
  m.def("device_status", &device_status,
        "(number of CUDA devices, reason when there is none); never raises");
  m.def("device_name", &dlhw::cuda_device_name, py::arg("device") = 0);
  m.def("matmul", &matmul, py::arg("a").noconvert(), py::arg("b").noconvert(),
        "C = a @ b for 2-D C-contiguous float32 numpy arrays (copies to and from the GPU)");
  m.def("matmul_device_ptr", &matmul_device_ptr, py::arg("a"), py::arg("b"), py::arg("c"),
        py::arg("m"), py::arg("n"), py::arg("k"), py::arg("stream") = 0,
        "C = A @ B on device pointers (e.g. torch's data_ptr()); asynchronous on `stream`");
  m.def("time_matmul", &time_matmul, py::arg("m"), py::arg("n"), py::arg("k"),
        py::arg("repeats") = 10, py::arg("warmup") = 3,
        "kernel time in ms of each run on device-resident data (CUDA events)");
}
