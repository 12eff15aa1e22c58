// CUDA float32 matrix multiply C = A @ B (row-major). Plain C++ interface, no CUDA types, so the
// pybind11 bindings (cuda_bindings.cpp) compile with the host compiler alone.
// Every function throws std::runtime_error on a CUDA error; with no usable device the message
// starts with "no CUDA device".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dlhw {

// Number of CUDA devices; 0 when there is none or no driver. `why` (if given) gets the reason.
int cuda_device_count(std::string* why);

// Name and compute capability of device `device`, e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
std::string cuda_device_name(int device);

// Host pointers: copies A and B to the current device, multiplies, copies C back.
void cuda_gemm_host(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n,
                    std::int64_t k);

// Device pointers: launches on `stream` (a cudaStream_t; 0 = the legacy default stream) and
// returns without synchronising.
void cuda_gemm_device(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n,
                      std::int64_t k, void* stream);

// Kernel time alone, in milliseconds, of each of `repeats` runs (after `warmup` runs) on
// device-resident m x k and k x n matrices filled with deterministic values (CUDA events).
std::vector<double> cuda_gemm_time(std::int64_t m, std::int64_t n, std::int64_t k, int repeats,
                                   int warmup);

}  // namespace dlhw
