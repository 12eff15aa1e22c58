// Host side of the CUDA float32 GEMM: device checks, launches, copies and timing. The kernel is
// in cuda_gemm_kernel.cuh. Self-contained apart from this project's two headers (no pybind11),
// so that `nvcc -c kernels/src/cuda_gemm.cu` compiles it alone.
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_gemm.h"
#include "cuda_gemm_kernel.cuh"

namespace dlhw {
namespace {

using sgemm::BM;
using sgemm::BN;
using sgemm::THREADS;

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(err) +
                             " (" + cudaGetErrorString(err) + ")");
  }
}

__global__ void fill_pattern(float* x, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    // Deterministic values in [-1, 1): a hash of (i, seed).
    unsigned h = static_cast<unsigned>(i) * 2654435761u ^ seed * 2246822519u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    x[i] = static_cast<float>(h & 0xFFFFFF) / 8388608.0f - 1.0f;
  }
}

void require_device() {
  std::string why;
  if (cuda_device_count(&why) <= 0) throw std::runtime_error("no CUDA device available: " + why);
}

void check_dims(std::int64_t m, std::int64_t n, std::int64_t k) {
  constexpr std::int64_t limit = 0x7fffffff;
  if (m < 0 || n < 0 || k < 0 || m > limit || n > limit || k > limit) {
    throw std::runtime_error("cuda matmul: dimensions must lie in [0, 2^31 - 1]");
  }
  if ((m + BM - 1) / BM > 65535) {
    throw std::runtime_error("cuda matmul: m too large for the grid (at most 65535 * 128 rows)");
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) {
    if (count > 0) check(cudaMalloc(&ptr_, count * sizeof(float)), "cudaMalloc");
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* get() const { return ptr_; }

 private:
  float* ptr_ = nullptr;
};

class Event {
 public:
  Event() { check(cudaEventCreate(&ev_), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(ev_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return ev_; }

 private:
  cudaEvent_t ev_{};
};

}  // namespace

int cuda_device_count(std::string* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why != nullptr) {
      *why = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(err) + " (" +
             cudaGetErrorString(err) + ")";
    }
    cudaGetLastError();  // reset the runtime's last-error state so later calls start clean
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "cudaGetDeviceCount reports 0 devices";
  return count;
}

std::string cuda_device_name(int device) {
  require_device();
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
         std::to_string(prop.minor) + ")";
}

void cuda_gemm_device(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n,
                      std::int64_t k, void* stream) {
  check_dims(m, n, k);
  if (m == 0 || n == 0) return;
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  const dim3 grid(static_cast<unsigned>((n + BN - 1) / BN), static_cast<unsigned>((m + BM - 1) / BM));
  const bool vec = k % 4 == 0 && n % 4 == 0 && aligned16(a) && aligned16(b) && aligned16(c);
  const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
  if (vec) {
    sgemm::sgemm_128x128x8<true><<<grid, THREADS, 0, s>>>(a, b, c, M, N, K);
  } else {
    sgemm::sgemm_128x128x8<false><<<grid, THREADS, 0, s>>>(a, b, c, M, N, K);
  }
  check(cudaGetLastError(), "sgemm kernel launch");
}

void cuda_gemm_host(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n,
                    std::int64_t k) {
  require_device();
  check_dims(m, n, k);
  if (m == 0 || n == 0) return;
  const size_t sa = static_cast<size_t>(m) * k, sb = static_cast<size_t>(k) * n,
               sc = static_cast<size_t>(m) * n;
  DeviceBuffer da(sa), db(sb), dc(sc);
  if (sa > 0) check(cudaMemcpy(da.get(), a, sa * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy A");
  if (sb > 0) check(cudaMemcpy(db.get(), b, sb * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy B");
  cuda_gemm_device(da.get(), db.get(), dc.get(), m, n, k, nullptr);
  check(cudaMemcpy(c, dc.get(), sc * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy C");
}

std::vector<double> cuda_gemm_time(std::int64_t m, std::int64_t n, std::int64_t k, int repeats,
                                   int warmup) {
  require_device();
  check_dims(m, n, k);
  const size_t sa = static_cast<size_t>(m) * k, sb = static_cast<size_t>(k) * n,
               sc = static_cast<size_t>(m) * n;
  DeviceBuffer da(sa), db(sb), dc(sc);
  if (sa > 0) fill_pattern<<<1024, 256>>>(da.get(), sa, 1u);
  if (sb > 0) fill_pattern<<<1024, 256>>>(db.get(), sb, 2u);
  check(cudaGetLastError(), "fill kernel launch");
  for (int i = 0; i < warmup; ++i) cuda_gemm_device(da.get(), db.get(), dc.get(), m, n, k, nullptr);
  check(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> times;
  Event start, stop;
  for (int r = 0; r < repeats; ++r) {
    check(cudaEventRecord(start.get(), nullptr), "cudaEventRecord");
    cuda_gemm_device(da.get(), db.get(), dc.get(), m, n, k, nullptr);
    check(cudaEventRecord(stop.get(), nullptr), "cudaEventRecord");
    check(cudaEventSynchronize(stop.get()), "cudaEventSynchronize");
    float ms = 0.f;
    check(cudaEventElapsedTime(&ms, start.get(), stop.get()), "cudaEventElapsedTime");
    times.push_back(static_cast<double>(ms));
  }
  return times;
}

}  // namespace dlhw
