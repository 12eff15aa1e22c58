// CPU matrix multiply C = A @ B for row-major, contiguous float32 / float64 matrices.
// A is m x k, B is k x n, C is m x n. No Python here: the bindings live in cpu_bindings.cpp.
#pragma once

#include <cstdint>

namespace dlhw {

// Computes c = a @ b. `threads` <= 0 means "OpenMP's default"; 1 runs on the calling thread.
// Any shape is valid, zero-sized ones included (k == 0 gives a zero matrix).
template <typename T>
void cpu_gemm(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
              int threads);

// "avx2+fma" when the hand-vectorised micro-kernel was compiled in, else "scalar".
const char* cpu_gemm_isa();

// Whether the library was built with OpenMP, and how many threads it would use by default.
bool cpu_gemm_has_openmp();
int cpu_gemm_max_threads();

}  // namespace dlhw
