// Operand checks shared by the pybind11 bindings (_cpu, _cuda): each failure raises a Python
// TypeError or ValueError whose message names the problem. The Python layer (kernels/validation.py)
// checks the same things first; these keep the compiled modules safe to call directly.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace dlhw {

inline std::string shape_str(const pybind11::array& x) {
  std::string s = "(";
  for (pybind11::ssize_t i = 0; i < x.ndim(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(x.shape(i));
  }
  return s + (x.ndim() == 1 ? ",)" : ")");
}

inline void check_operand(const pybind11::array& x, const char* name) {
  if (x.ndim() != 2) {
    throw pybind11::value_error(std::string("matmul: ") + name + " must be a 2-D array, got " +
                                std::to_string(x.ndim()) + "-D with shape " + shape_str(x));
  }
  if ((x.flags() & pybind11::array::c_style) == 0) {
    throw pybind11::value_error(std::string("matmul: ") + name +
                                " must be C-contiguous (row-major); pass np.ascontiguousarray(" +
                                name + ")");
  }
}

// a (m x k) and b (k x n): both 2-D, C-contiguous, with matching inner dimensions.
inline void check_matmul_operands(const pybind11::array& a, const pybind11::array& b) {
  check_operand(a, "a");
  check_operand(b, "b");
  if (a.shape(1) != b.shape(0)) {
    throw pybind11::value_error("matmul: shapes " + shape_str(a) + " and " + shape_str(b) +
                                " are not aligned: a.shape[1] (" + std::to_string(a.shape(1)) +
                                ") != b.shape[0] (" + std::to_string(b.shape(0)) + ")");
  }
}

inline std::string dtype_str(const pybind11::array& x) {
  return std::string(pybind11::str(x.dtype()));
}

}  // namespace dlhw
