// Micro-benchmark of attention over the paged cache (kernels/cpu_paged_attention.h)
// on the branching workload's shape: 48 queries (one head, head size 64)
// over 768 positions in blocks of 16, the first `shared` positions in blocks
// every query reads (a story's cached opening), the rest in blocks of each
// query's own. shared = 0 is the unshared cost; "items_per_second" counts
// (query, position) pairs. One thread. Never run by CTest:
//   build/kernels/bench/cpu_paged_attention_bench --benchmark_min_time=1
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/cpu_features.h"
#include "kernels/cpu_paged_attention.h"

namespace plotforge::kernels {
namespace {

constexpr int kQueries = 48, kLen = 768, kBs = 16, kHd = 64;

void BM_AttendPaged(benchmark::State& state) {
  const int shared = static_cast<int>(state.range(0));
  const int nblocks = kLen / kBs, shared_blocks = shared / kBs;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.f, 1.f);
  const auto block = [&] {
    std::vector<float> b(static_cast<std::size_t>(kBs) * kHd);
    for (float& x : b) x = d(rng);
    return b;
  };
  std::vector<std::vector<float>> keys, values;
  for (int b = 0; b < shared_blocks; ++b) keys.push_back(block()), values.push_back(block());
  std::vector<std::vector<const float*>> kp(kQueries), vp(kQueries);
  for (int i = 0; i < kQueries; ++i)
    for (int b = 0; b < nblocks; ++b) {
      if (b >= shared_blocks) keys.push_back(block()), values.push_back(block());
      const std::size_t at = b < shared_blocks ? b : keys.size() - 1;
      kp[i].push_back(keys[at].data());
      vp[i].push_back(values[at].data());
    }
  std::vector<std::vector<float>> q(kQueries, std::vector<float>(kHd)), out(kQueries, std::vector<float>(kHd));
  std::vector<PagedQuery> queries(kQueries);
  for (int i = 0; i < kQueries; ++i) {
    for (float& x : q[i]) x = d(rng);
    queries[i].q = q[i].data();
    queries[i].k = kp[i].data();
    queries[i].v = vp[i].data();
    queries[i].len = kLen - i % 3;  // ragged last blocks, as sibling branches have
    queries[i].out = out[i].data();
  }
  const CpuFeatures& f = cpu_features();
  const CpuIsa isa = f.avx512() && f.fma ? CpuIsa::kAvx512 : f.avx2 && f.fma ? CpuIsa::kAvx2 : CpuIsa::kPortable;
  state.SetLabel(cpu_isa_name(isa));
  for (auto _ : state) {
    attend_paged(queries.data(), kQueries, kBs, kHd, 0.125f, isa);
    benchmark::DoNotOptimize(out[0][0]);
  }
  state.SetItemsProcessed(state.iterations() * kQueries * kLen);
}
BENCHMARK(BM_AttendPaged)->Arg(0)->Arg(256)->Arg(512)->Arg(768)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace plotforge::kernels

BENCHMARK_MAIN();
