// The float32 GEMM kernel itself, C = A @ B, all row-major. Device code only, included by
// cuda_gemm.cu (nvcc) and by ../emulation/sgemm_emulate.cpp (g++ with a CUDA shim, which runs
// the kernel on CPU threads so that its indexing is tested where there is no GPU).
//
// Each 256-thread block computes a 128 x 128 tile of C, stepping through K in slices of 8:
//  * global -> registers -> shared memory, double-buffered: the next slice is loaded into
//    registers while the current one is multiplied, so one __syncthreads per slice suffices;
//  * A's slice is stored transposed (As[k][m], padded by 4 floats against bank conflicts) so
//    that both operands are read from shared memory as float4;
//  * each thread accumulates an 8 x 8 register tile: rows {4ty..4ty+3, 64+4ty..64+4ty+3} and
//    columns {4tx..4tx+3, 64+4tx..64+4tx+3} (16 x 16 threads), i.e. 2 x 2 blocks of 4 x 4, so a
//    warp reads 16 consecutive float4 of B and broadcasts A, without bank conflicts;
//  * VEC = true (K % 4 == 0, N % 4 == 0, 16-byte aligned pointers): float4 global loads and
//    stores; otherwise scalar ones. Either way every access is bounds-checked, so any M, N, K is
//    valid; out-of-range elements load as zero and are never stored.
#pragma once

namespace dlhw {
namespace sgemm {

constexpr int BM = 128, BN = 128, BK = 8;  // block tile
constexpr int THREADS = 256;               // 16 x 16 threads, 8 x 8 outputs each
constexpr int A_PAD = 4;                   // keeps float4 alignment of As rows (132 * 4 B)

template <bool VEC>
__device__ __forceinline__ float4 load_a(const float* __restrict__ A, int M, int K, int row,
                                         int col) {
  if (VEC) {
    // col is a multiple of 4 and K % 4 == 0: the float4 is either wholly inside or outside.
    if (row < M && col < K) {
      return __ldg(reinterpret_cast<const float4*>(A + static_cast<size_t>(row) * K + col));
    }
    return make_float4(0.f, 0.f, 0.f, 0.f);
  } else {
    float v[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      v[i] = (row < M && col + i < K) ? __ldg(A + static_cast<size_t>(row) * K + col + i) : 0.f;
    }
    return make_float4(v[0], v[1], v[2], v[3]);
  }
}

template <bool VEC>
__device__ __forceinline__ float4 load_b(const float* __restrict__ B, int K, int N, int row,
                                         int col) {
  if (VEC) {
    if (row < K && col < N) {
      return __ldg(reinterpret_cast<const float4*>(B + static_cast<size_t>(row) * N + col));
    }
    return make_float4(0.f, 0.f, 0.f, 0.f);
  } else {
    float v[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      v[i] = (row < K && col + i < N) ? __ldg(B + static_cast<size_t>(row) * N + col + i) : 0.f;
    }
    return make_float4(v[0], v[1], v[2], v[3]);
  }
}

template <bool VEC>
__global__ void __launch_bounds__(THREADS, 2)
    sgemm_128x128x8(const float* __restrict__ A, const float* __restrict__ B,
                    float* __restrict__ C, int M, int N, int K) {
  __shared__ __align__(16) float As[2][BK][BM + A_PAD];
  __shared__ __align__(16) float Bs[2][BK][BN];

  const int tid = threadIdx.x;
  const int tx = tid & 15, ty = tid >> 4;
  const int block_row = blockIdx.y * BM, block_col = blockIdx.x * BN;

  // Global -> shared mapping: one float4 of A (row tid/2, k 0-3 or 4-7) and one of B
  // (k row tid/32, 4 columns) per thread and slice.
  const int a_row = tid >> 1, a_k = (tid & 1) << 2;
  const int b_k = tid >> 5, b_col = (tid & 31) << 2;

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
  }

  float4 a_next = load_a<VEC>(A, M, K, block_row + a_row, a_k);
  float4 b_next = load_b<VEC>(B, K, N, b_k, block_col + b_col);
  As[0][a_k + 0][a_row] = a_next.x;
  As[0][a_k + 1][a_row] = a_next.y;
  As[0][a_k + 2][a_row] = a_next.z;
  As[0][a_k + 3][a_row] = a_next.w;
  *reinterpret_cast<float4*>(&Bs[0][b_k][b_col]) = b_next;
  __syncthreads();

  const int n_slices = (K + BK - 1) / BK;
  for (int t = 0; t < n_slices; ++t) {
    const int cur = t & 1;
    const bool has_next = t + 1 < n_slices;
    if (has_next) {
      const int k0 = (t + 1) * BK;
      a_next = load_a<VEC>(A, M, K, block_row + a_row, k0 + a_k);
      b_next = load_b<VEC>(B, K, N, k0 + b_k, block_col + b_col);
    }
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][64 + tx * 4]);
      const float ra[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float rb[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(ra[i], rb[j], acc[i][j]);
      }
    }
    if (has_next) {
      // The other buffer was last read in slice t - 1, which every thread finished before the
      // barrier that ended it.
      const int nxt = cur ^ 1;
      As[nxt][a_k + 0][a_row] = a_next.x;
      As[nxt][a_k + 1][a_row] = a_next.y;
      As[nxt][a_k + 2][a_row] = a_next.z;
      As[nxt][a_k + 3][a_row] = a_next.w;
      *reinterpret_cast<float4*>(&Bs[nxt][b_k][b_col]) = b_next;
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = block_row + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (row >= M) continue;
    float* c_row = C + static_cast<size_t>(row) * N;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int col = block_col + h * 64 + tx * 4;
      if (VEC) {
        if (col < N) {
          *reinterpret_cast<float4*>(c_row + col) =
              make_float4(acc[i][4 * h], acc[i][4 * h + 1], acc[i][4 * h + 2], acc[i][4 * h + 3]);
        }
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (col + j < N) c_row[col + j] = acc[i][4 * h + j];
        }
      }
    }
  }
}

}  // namespace sgemm
}  // namespace dlhw
