// Micro-benchmark of the CPU matrix-product kernels (kernels/cpu_matmul.h)
// against this machine's memory bandwidth, measured in the same run: each
// weight type streams a matrix of about 600 MB (past any L3 we have met),
// at batch 1, 8 and 32, on 1 and 2 threads splitting the rows, in rows of
// 4096 columns (and of 768, the 176M model's, at batch 1 and 32); "bytes_per_second"
// counts the weight bytes read. BM_Memcpy is the reference: the copy
// bandwidth plotforge-run bench reports (bytes read plus bytes written).
// Weights and activations start on 64-byte lines, and the weights and the
// copy sit on 2 MB pages where the kernel gives them (base/huge_pages.h),
// as the runtime keeps them; the float32 rows marked "off the line" start 48 and 16 bytes past
// one (how a safetensors file from another writer maps), to show what
// that costs (base/aligned.h). Past batch 16 the products are bound by
// arithmetic: "items_per_second" counts multiply-adds.
// Never run by CTest (docs/perf/runtime-cpu.md has the numbers):
//   build/kernels/bench/cpu_matmul_bench --benchmark_min_time=1
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/aligned.h"
#include "base/cpu_features.h"
#include "base/huge_pages.h"
#include "kernels/cpu_matmul.h"

namespace plotforge::kernels {
namespace {

constexpr std::size_t kBytes = 600u << 20;
constexpr int kCols = 4096, kModelCols = 768;

CpuIsa widest() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512() && f.fma && f.f16c) return CpuIsa::kAvx512;
  if (f.avx2 && f.fma && f.f16c) return CpuIsa::kAvx2;
  return CpuIsa::kPortable;
}

struct Weights {
  HugePageArena arena;
  std::uint8_t* bytes = nullptr;  // 64 spare bytes at the end, for the copy off the line
  WeightMatrix w;
};

// One matrix per type, built once (encoding 600 MB takes a while).
const Weights& weights(WeightType t) {
  static std::map<WeightType, std::unique_ptr<Weights>> cache;
  auto& slot = cache[t];
  if (!slot) {
    slot = std::make_unique<Weights>();
    const std::size_t row_bytes = weight_row_bytes(t, kCols);
    const int rows = static_cast<int>(kBytes / row_bytes);
    slot->bytes = slot->arena.allocate(rows * row_bytes + kCacheLine);
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.f, 0.02f);
    std::vector<float> row(kCols);
    for (int r = 0; r < rows; ++r) {
      if (r < 64) {
        for (float& v : row) v = d(rng);
      }
      encode_row(row.data(), kCols, t, slot->bytes + r * row_bytes);  // rows repeat after 64: same cost
    }
    slot->w = {t, slot->bytes, rows, kCols};
  }
  return *slot;
}

void BM_Matmul(benchmark::State& state) {
  const auto t = static_cast<WeightType>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  // range(2): the type's own instruction: vdpbf16ps for bf16, vpdpbusd for q8_0.
  const CpuIsa isa = !state.range(2) ? widest() : t == WeightType::kQ8_0 ? CpuIsa::kAvx512Vnni : CpuIsa::kAvx512Bf16;
  if (isa == CpuIsa::kAvx512Bf16 && !(cpu_features().avx512() && cpu_features().avx512_bf16)) {
    state.SkipWithError("no AVX-512 BF16 on this CPU");
    return;
  }
  if (isa == CpuIsa::kAvx512Vnni && !(cpu_features().avx512() && cpu_features().avx512_vnni)) {
    state.SkipWithError("no AVX-512 VNNI on this CPU");
    return;
  }
  static std::mutex build;
  const Weights* wp;
  {
    std::lock_guard<std::mutex> lock(build);
    wp = &weights(t);
  }
  const bool off_line = state.range(3) != 0;
  // range(4): the row width. The same bytes read as rows of another width
  // (every type's rows are whole values, and q8_0's whole blocks).
  const int cols = static_cast<int>(state.range(4));
  WeightMatrix w = wp->w;
  w.rows = static_cast<int>(w.rows * weight_row_bytes(t, kCols) / weight_row_bytes(t, cols));
  w.cols = cols;
  if (off_line) w.data += 48;  // the same rows, read from 48 bytes past each line
  AlignedVector<float> xs(static_cast<std::size_t>(n) * cols + 4, 0.5f);
  const float* x = xs.data() + (off_line ? 4 : 0);
  std::vector<float> y(static_cast<std::size_t>(n) * w.rows);
  const int per = (w.rows + state.threads() - 1) / state.threads();
  const int rb = state.thread_index() * per, re = std::min(w.rows, rb + per);
  for (auto _ : state) {
    matmul_rows(w, x, n, y.data(), w.rows, rb, re, isa);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (re - rb) * weight_row_bytes(t, cols));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * (re - rb) * cols * n);
  state.SetLabel(std::string(weight_type_name(t)) + " " + cpu_isa_name(isa) + " batch " + std::to_string(n) +
                 (cols != kCols ? " " + std::to_string(cols) + " columns" : "") + (off_line ? " off the line" : ""));
}

void BM_Memcpy(benchmark::State& state) {
  static HugePageArena arena;
  static std::uint8_t *src = arena.allocate(kBytes / 2), *dst = arena.allocate(kBytes / 2);
  static const bool filled = (std::memset(src, 1, kBytes / 2), std::memset(dst, 0, kBytes / 2), true);
  (void)filled;
  const std::size_t per = kBytes / 2 / state.threads(), begin = state.thread_index() * per;
  for (auto _ : state) {
    std::memcpy(dst + begin, src + begin, per);
    benchmark::DoNotOptimize(dst);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * per * 2);  // read + write
}

void matmul_args(benchmark::internal::Benchmark* b) {
  for (WeightType t : {WeightType::kF32, WeightType::kBF16, WeightType::kF16, WeightType::kQ8_0}) {
    const bool own = t == WeightType::kBF16 || t == WeightType::kQ8_0;
    for (int n : {1, 8, 32}) b->Args({static_cast<int>(t), n, 0, 0, kCols});
    if (own) {
      for (int n : {1, 8, 32}) b->Args({static_cast<int>(t), n, 1, 0, kCols});
    }
    // Batch 1 and 32 on rows as wide as 3 of the 176M model's 4 matrices'.
    for (int n : {1, 32}) {
      b->Args({static_cast<int>(t), n, 0, 0, kModelCols});
      if (own) b->Args({static_cast<int>(t), n, 1, 0, kModelCols});
    }
  }
  for (int off_line : {0, 1}) b->Args({static_cast<int>(WeightType::kF32), 64, 0, off_line, kCols});
  b->Args({static_cast<int>(WeightType::kF32), 32, 0, 1, kCols});
}

BENCHMARK(BM_Memcpy)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Matmul)->Apply(matmul_args)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace plotforge::kernels

BENCHMARK_MAIN();
