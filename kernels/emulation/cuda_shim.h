// Just enough of CUDA's device dialect for g++ to compile cuda_gemm_kernel.cuh and run it on CPU
// threads: one std::thread per CUDA thread, blocks one after another, __syncthreads as a
// std::barrier, __shared__ as function statics (shared by the threads of the running block).
// For testing the kernel's indexing and boundary handling where there is no GPU; not for speed.
#pragma once

#include <barrier>
#include <cmath>
#include <cstddef>
#include <functional>
#include <stddef.h>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
inline std::barrier<>* g_block_barrier = nullptr;

inline void __syncthreads() { g_block_barrier->arrive_and_wait(); }

template <typename T>
inline T __ldg(const T* p) {
  return *p;
}

// Runs `kernel` once per CUDA thread of a grid x block launch (1-D blocks).
inline void emulate_launch(dim3 grid, unsigned threads, const std::function<void()>& kernel) {
  for (unsigned by = 0; by < grid.y; ++by) {
    for (unsigned bx = 0; bx < grid.x; ++bx) {
      std::barrier<> barrier(static_cast<std::ptrdiff_t>(threads));
      g_block_barrier = &barrier;
      std::vector<std::thread> pool;
      pool.reserve(threads);
      for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          threadIdx = dim3{t, 0, 0};
          blockIdx = dim3{bx, by, 0};
          blockDim = dim3{threads, 1, 1};
          gridDim = grid;
          kernel();
        });
      }
      for (std::thread& th : pool) th.join();
      g_block_barrier = nullptr;
    }
  }
}
