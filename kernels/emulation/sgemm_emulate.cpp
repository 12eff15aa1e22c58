// Runs the CUDA kernel of cuda_gemm_kernel.cuh on the CPU (see cuda_shim.h).
// Usage: sgemm_emulate M N K a.bin b.bin c.bin [auto|scalar]
//   a.bin, b.bin: row-major float32 (M x K, K x N); c.bin is written (M x N).
//   auto: float4 path iff K % 4 == 0 and N % 4 == 0 (as cuda_gemm.cu decides); scalar: never.
// Used by tests/test_kernels_cuda.py, which compares c.bin with numpy.
#include "cuda_shim.h"
// clang-format off
#include "../src/cuda_gemm_kernel.cuh"
// clang-format on

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

float* read_floats(const char* path, std::size_t count) {
  float* data = static_cast<float*>(std::aligned_alloc(64, (count * sizeof(float) / 64 + 1) * 64));
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr || std::fread(data, sizeof(float), count, f) != count) {
    std::fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
    std::exit(2);
  }
  std::fclose(f);
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s M N K a.bin b.bin c.bin [auto|scalar]\n", argv[0]);
    return 2;
  }
  const int m = std::atoi(argv[1]), n = std::atoi(argv[2]), k = std::atoi(argv[3]);
  const bool force_scalar = argc > 7 && std::string(argv[7]) == "scalar";
  const std::size_t sm = static_cast<std::size_t>(m), sn = static_cast<std::size_t>(n),
                    sk = static_cast<std::size_t>(k);
  const float* a = read_floats(argv[4], sm * sk);
  const float* b = read_floats(argv[5], sk * sn);
  float* c = static_cast<float*>(std::aligned_alloc(64, (sm * sn * sizeof(float) / 64 + 1) * 64));
  const float poison = std::nanf("");
  for (std::size_t i = 0; i < sm * sn; ++i) c[i] = poison;  // catches unwritten outputs

  using namespace dlhw::sgemm;
  const dim3 grid{static_cast<unsigned>((n + BN - 1) / BN), static_cast<unsigned>((m + BM - 1) / BM),
                  1};
  const bool vec = !force_scalar && k % 4 == 0 && n % 4 == 0;
  if (vec) {
    emulate_launch(grid, THREADS, [&] { sgemm_128x128x8<true>(a, b, c, m, n, k); });
  } else {
    emulate_launch(grid, THREADS, [&] { sgemm_128x128x8<false>(a, b, c, m, n, k); });
  }
  std::FILE* f = std::fopen(argv[6], "wb");
  if (f == nullptr || std::fwrite(c, sizeof(float), sm * sn, f) != sm * sn) {
    std::fprintf(stderr, "cannot write %s\n", argv[6]);
    return 2;
  }
  std::fclose(f);
  std::printf("%s\n", vec ? "vec" : "scalar");
  return 0;
}
