// Cache-blocked, register-tiled CPU GEMM (the Goto/BLIS scheme):
//
//   for jc in N step NC:            B block (KC x NC) is packed once and stays in L3
//     for pc in K step KC:
//       pack B[pc:pc+KC, jc:jc+NC] into NR-wide column slivers
//       for ic in M step MC:        A block (MC x KC) is packed and stays in L2
//         pack A[ic:ic+MC, pc:pc+KC] into MR-tall row slivers
//         for jr in NC step NR:     one B sliver (KC x NR) stays in L1
//           for ir in MC step MR:
//             MR x NR micro-kernel: C tile held in registers for the whole KC loop
//
// The micro-kernel uses AVX2 + FMA intrinsics when the compiler targets them (the build passes
// -march=native by default: wheels of this project are built on the machine that runs them;
// configure with -DDLHW_NATIVE=OFF for a portable build, which falls back to the scalar
// micro-kernel below, auto-vectorised with whatever the target has).
// Edges (M, N not multiples of MR, NR; any K) are handled by zero-padding the packed panels and
// writing partial tiles through a small temporary.
#include "cpu_gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define DLHW_GEMM_AVX2 1
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dlhw {
namespace {

using idx = std::int64_t;

// Register tile MR x NR: 6 rows x 2 vectors = 12 accumulators, + 2 registers for the B row and
// 1 for the broadcast A element: 15 of the 16 ymm registers. MC, KC, NC size the packed A block
// for L2 (float: 144 x 256 x 4 B = 144 KiB), the B sliver for L1 (256 x 16 x 4 B = 16 KiB) and
// the packed B block for L3 (values as in BLIS's Zen configuration).
template <typename T>
struct Blocking;
template <>
struct Blocking<float> {
  static constexpr idx MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;
};
template <>
struct Blocking<double> {
  static constexpr idx MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;
};

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
template <typename T>
using Buffer = std::unique_ptr<T[], FreeDeleter>;

// Packing buffers of the calling thread, kept between calls: allocating (and page-faulting in)
// a few hundred KiB per call costs ~15% of a 256^3 product. They only grow, to at most
// MC x KC + KC x NC elements (~4.2 MiB for float32, ~8.5 MiB for float64) per thread and type.
template <typename T>
class Workspace {
 public:
  T* get(idx count) {
    if (count > capacity_) {
      const std::size_t bytes = ((static_cast<std::size_t>(count) * sizeof(T) + 63) / 64) * 64;
      void* p = std::aligned_alloc(64, bytes);
      if (p == nullptr) throw std::bad_alloc();
      buffer_.reset(static_cast<T*>(p));
      capacity_ = count;
    }
    return buffer_.get();
  }

 private:
  Buffer<T> buffer_;
  idx capacity_ = 0;
};

// Packs the mc x kc block of A (row stride lda) into MR-tall slivers, each stored k-major:
// ap[(sliver * kc + p) * MR + r] = A[sliver * MR + r][p], zero past the last row.
template <typename T>
void pack_a_sliver(idx mr, idx kc, const T* a, idx lda, T* ap) {
  constexpr idx MR = Blocking<T>::MR;
  if (mr == MR) {
    for (idx p = 0; p < kc; ++p) {
      for (idx r = 0; r < MR; ++r) ap[p * MR + r] = a[r * lda + p];
    }
  } else {
    for (idx p = 0; p < kc; ++p) {
      for (idx r = 0; r < MR; ++r) ap[p * MR + r] = r < mr ? a[r * lda + p] : T(0);
    }
  }
}

// Packs one kc x nr sliver of B (row stride ldb) as bp[p * NR + j], zero past the last column.
template <typename T>
void pack_b_sliver(idx nr, idx kc, const T* b, idx ldb, T* bp) {
  constexpr idx NR = Blocking<T>::NR;
  for (idx p = 0; p < kc; ++p) {
    const T* src = b + p * ldb;
    T* dst = bp + p * NR;
    if (nr == NR) {
      for (idx j = 0; j < NR; ++j) dst[j] = src[j];
    } else {
      for (idx j = 0; j < NR; ++j) dst[j] = j < nr ? src[j] : T(0);
    }
  }
}

#ifdef DLHW_GEMM_AVX2
#define DLHW_INLINE inline __attribute__((always_inline))

template <typename T>
struct Simd;
template <>
struct Simd<float> {
  using V = __m256;
  static constexpr idx W = 8;
  static DLHW_INLINE V zero() { return _mm256_setzero_ps(); }
  static DLHW_INLINE V load(const float* p) { return _mm256_load_ps(p); }
  static DLHW_INLINE V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static DLHW_INLINE void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static DLHW_INLINE V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static DLHW_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static DLHW_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
};
template <>
struct Simd<double> {
  using V = __m256d;
  static constexpr idx W = 4;
  static DLHW_INLINE V zero() { return _mm256_setzero_pd(); }
  static DLHW_INLINE V load(const double* p) { return _mm256_load_pd(p); }
  static DLHW_INLINE V loadu(const double* p) { return _mm256_loadu_pd(p); }
  static DLHW_INLINE void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  static DLHW_INLINE V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static DLHW_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static DLHW_INLINE V add(V a, V b) { return _mm256_add_pd(a, b); }
};

// C[0:6, 0:NR] (+)= Ap (kc x 6, packed) * Bp (kc x NR, packed); NR = 2 vectors.
template <typename T>
void micro_kernel(idx kc, const T* __restrict ap, const T* __restrict bp, T* __restrict c, idx ldc,
                  bool accumulate) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr idx W = S::W;
  static_assert(Blocking<T>::MR == 6 && Blocking<T>::NR == 2 * W, "micro-kernel is 6 x 2 vectors");
  V c00 = S::zero(), c01 = S::zero(), c10 = S::zero(), c11 = S::zero();
  V c20 = S::zero(), c21 = S::zero(), c30 = S::zero(), c31 = S::zero();
  V c40 = S::zero(), c41 = S::zero(), c50 = S::zero(), c51 = S::zero();
#define DLHW_ROW(r)             \
  a = S::bcast(ap + (r));       \
  c##r##0 = S::fma(a, b0, c##r##0); \
  c##r##1 = S::fma(a, b1, c##r##1);
#pragma GCC unroll 4
  for (idx p = 0; p < kc; ++p) {
    const V b0 = S::load(bp);
    const V b1 = S::load(bp + W);
    V a;
    DLHW_ROW(0)
    DLHW_ROW(1)
    DLHW_ROW(2)
    DLHW_ROW(3)
    DLHW_ROW(4)
    DLHW_ROW(5)
    ap += 6;
    bp += 2 * W;
  }
#undef DLHW_ROW
#define DLHW_STORE(r)                                              \
  if (accumulate) {                                                \
    c##r##0 = S::add(c##r##0, S::loadu(c + (r) * ldc));            \
    c##r##1 = S::add(c##r##1, S::loadu(c + (r) * ldc + W));        \
  }                                                                \
  S::storeu(c + (r) * ldc, c##r##0);                               \
  S::storeu(c + (r) * ldc + W, c##r##1);
  DLHW_STORE(0)
  DLHW_STORE(1)
  DLHW_STORE(2)
  DLHW_STORE(3)
  DLHW_STORE(4)
  DLHW_STORE(5)
#undef DLHW_STORE
}

#else  // portable fallback: the compiler vectorises the inner j loop for its target

template <typename T>
void micro_kernel(idx kc, const T* __restrict ap, const T* __restrict bp, T* __restrict c, idx ldc,
                  bool accumulate) {
  constexpr idx MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  T acc[MR][NR] = {};
  for (idx p = 0; p < kc; ++p) {
    for (idx r = 0; r < MR; ++r) {
      const T a = ap[p * MR + r];
      for (idx j = 0; j < NR; ++j) acc[r][j] += a * bp[p * NR + j];
    }
  }
  for (idx r = 0; r < MR; ++r) {
    for (idx j = 0; j < NR; ++j) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : T(0)) + acc[r][j];
  }
}

#endif

// One MR x NR tile of C at (ir, jr) within the current blocks; partial tiles go through `tmp`.
template <typename T>
void compute_tile(idx mr, idx nr, idx kc, const T* ap, const T* bp, T* c, idx ldc, bool accumulate) {
  constexpr idx MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  if (mr == MR && nr == NR) {
    micro_kernel<T>(kc, ap, bp, c, ldc, accumulate);
    return;
  }
  alignas(64) T tmp[MR * NR];
  micro_kernel<T>(kc, ap, bp, tmp, NR, false);
  for (idx r = 0; r < mr; ++r) {
    for (idx j = 0; j < nr; ++j) {
      c[r * ldc + j] = (accumulate ? c[r * ldc + j] : T(0)) + tmp[r * NR + j];
    }
  }
}

idx ceil_div(idx a, idx b) { return (a + b - 1) / b; }

int resolve_threads(int requested, idx m, idx n, idx k) {
#ifdef _OPENMP
  int t = requested > 0 ? requested : omp_get_max_threads();
  // Below ~64^3 multiply-adds a parallel region costs more than it saves.
  if (static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) < 262144.0) t = 1;
  return std::max(t, 1);
#else
  (void)requested, (void)m, (void)n, (void)k;
  return 1;
#endif
}

}  // namespace

template <typename T>
void cpu_gemm(const T* a, const T* b, T* c, idx m, idx n, idx k, int threads) {
  using Bk = Blocking<T>;
  constexpr idx MR = Bk::MR, NR = Bk::NR, MC = Bk::MC, KC = Bk::KC, NC = Bk::NC;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    std::fill(c, c + m * n, T(0));
    return;
  }
  const idx lda = k, ldb = n, ldc = n;
  const idx kc_max = std::min(KC, k);
  const idx mc_max = std::min(MC, ceil_div(m, MR) * MR);
  const idx nc_max = std::min(NC, ceil_div(n, NR) * NR);
  // B's panel starts on a 64-byte boundary: the micro-kernel loads it with aligned loads.
  const idx b_offset = ceil_div(mc_max * kc_max * static_cast<idx>(sizeof(T)), 64) * 64 /
                       static_cast<idx>(sizeof(T));
  thread_local Workspace<T> workspace;
  T* const ap = workspace.get(b_offset + nc_max * kc_max);
  T* const bp = ap + b_offset;
  const int nthreads = resolve_threads(threads, m, n, k);
  (void)nthreads;

  // One parallel region; every thread walks the same block loops and the `omp for` loops
  // (each ending in a barrier) split the packing and the NR-wide column slivers between them.
  // Threads write disjoint column slivers of C, so there are no races.
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  for (idx jc = 0; jc < n; jc += NC) {
    const idx nc = std::min(NC, n - jc);
    const idx n_slivers = ceil_div(nc, NR);
    for (idx pc = 0; pc < k; pc += KC) {
      const idx kc = std::min(KC, k - pc);
      const bool accumulate = pc > 0;
#pragma omp for schedule(static)
      for (idx js = 0; js < n_slivers; ++js) {
        const idx j = js * NR;
        pack_b_sliver<T>(std::min(NR, nc - j), kc, b + pc * ldb + jc + j, ldb, bp + j * kc);
      }
      for (idx ic = 0; ic < m; ic += MC) {
        const idx mc = std::min(MC, m - ic);
        const idx m_slivers = ceil_div(mc, MR);
#pragma omp for schedule(static)
        for (idx is = 0; is < m_slivers; ++is) {
          const idx i = is * MR;
          pack_a_sliver<T>(std::min(MR, mc - i), kc, a + (ic + i) * lda + pc, lda, ap + i * kc);
        }
#pragma omp for schedule(static)
        for (idx js = 0; js < n_slivers; ++js) {
          const idx j = js * NR;
          const idx nr = std::min(NR, nc - j);
          for (idx i = 0; i < mc; i += MR) {
            compute_tile<T>(std::min(MR, mc - i), nr, kc, ap + i * kc, bp + j * kc,
                            c + (ic + i) * ldc + jc + j, ldc, accumulate);
          }
        }
      }
    }
  }
}

template void cpu_gemm<float>(const float*, const float*, float*, idx, idx, idx, int);
template void cpu_gemm<double>(const double*, const double*, double*, idx, idx, idx, int);

const char* cpu_gemm_isa() {
#ifdef DLHW_GEMM_AVX2
  return "avx2+fma";
#else
  return "scalar";
#endif
}

bool cpu_gemm_has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

int cpu_gemm_max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace dlhw
