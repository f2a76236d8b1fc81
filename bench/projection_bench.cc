// Where the runtime's projections (inference/cpu_ops.h) leave our float32
// tiles for OpenBLAS's sgemm: both on one thread over the same aligned
// weights, small enough to stay in the caches, so the arithmetic is what
// is timed; "items_per_second" counts multiply-adds. Shapes are the 176M
// bench model's (768 columns; 2048 for the down projection) and the 10M
// one's (320 and 864). The third argument is the row count (tokens).
// BM_Tiles/.../1 reads the weights 48 bytes and the activations 16 bytes
// past a 64-byte line, as a matrix from a file that does not align them
// would be read (base/aligned.h). Never run by CTest:
//   build/bench/projection_bench --benchmark_min_time=0.5
#include <cblas.h>

#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/aligned.h"
#include "base/cpu_features.h"
#include "kernels/cpu_matmul.h"

namespace plotforge {
namespace {

kernels::CpuIsa widest() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512() && f.fma && f.f16c) return kernels::CpuIsa::kAvx512;
  if (f.avx2 && f.fma && f.f16c) return kernels::CpuIsa::kAvx2;
  return kernels::CpuIsa::kPortable;
}

struct Operands {
  AlignedVector<float> w, x, y;
  Operands(int rows, int cols, int n) : w(rows * cols + 16), x(n * cols + 16), y(n * rows) {
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.f, 0.02f);
    for (float& v : w) v = d(rng);
    for (float& v : x) v = d(rng);
  }
};

void BM_Tiles(benchmark::State& state) {
  const int rows = state.range(0), cols = state.range(1), n = state.range(2);
  const bool off_line = state.range(3) != 0;
  Operands o(rows, cols, n);
  const kernels::WeightMatrix w{kernels::WeightType::kF32,
                                reinterpret_cast<const std::uint8_t*>(o.w.data() + (off_line ? 12 : 0)), rows, cols};
  const float* x = o.x.data() + (off_line ? 4 : 0);
  for (auto _ : state) {
    kernels::matmul_rows(w, x, n, o.y.data(), rows, 0, rows, widest());
    benchmark::DoNotOptimize(o.y.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * rows * cols * n);
  state.SetLabel(std::string(kernels::cpu_isa_name(widest())) + (off_line ? " off the line" : ""));
}

void BM_Sgemm(benchmark::State& state) {
  const int rows = state.range(0), cols = state.range(1), n = state.range(2);
  Operands o(rows, cols, n);
  openblas_set_num_threads(1);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, rows, cols, 1.0f, o.x.data(), cols, o.w.data(), cols, 0.0f,
                o.y.data(), rows);
    benchmark::DoNotOptimize(o.y.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * rows * cols * n);
}

void shapes(benchmark::internal::Benchmark* b, bool with_off_line) {
  for (auto [rows, cols] : {std::pair{2304, 768}, {768, 2048}, {960, 320}, {320, 864}}) {
    for (int n : {32, 64, 128, 256, 512}) {
      b->Args({rows, cols, n, 0});
      if (with_off_line && n == 64) b->Args({rows, cols, n, 1});
    }
  }
}

BENCHMARK(BM_Tiles)->Apply([](benchmark::internal::Benchmark* b) { shapes(b, true); });
BENCHMARK(BM_Sgemm)->Apply([](benchmark::internal::Benchmark* b) { shapes(b, false); });

}  // namespace
}  // namespace plotforge

BENCHMARK_MAIN();
