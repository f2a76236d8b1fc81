// Attention of one query over a paged KV cache on the CPU
// (inference/cpu_ops.h's attend), each instruction set this CPU runs
// against a float64 reference: ragged lengths (1 to past several blocks,
// not multiples of the block or of the vector width), head sizes that are
// not multiples of 8, rows packed or strided, with and without a VAE
// memory slot. The blocks are
// scattered in the pool in reverse order, as a forked sequence's are.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "inference/cpu_ops.h"

namespace plotforge::runtime {
namespace {

std::vector<kernels::CpuIsa> sets_here() {
  std::vector<kernels::CpuIsa> s = {kernels::CpuIsa::kPortable};
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) s.push_back(kernels::CpuIsa::kAvx2);
  return s;
}

TEST(Attend, EveryInstructionSetMatchesAFloat64Reference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  int checked = 0;
  for (const int hd : {5, 16, 32, 64, 67, 128}) {
    for (const int bs : {1, 16}) {
      for (const int len : {1, 2, 15, 16, 17, 33, 100}) {
        for (const bool memory : {false, true}) {
          const int stride = hd + (len % 2) * 3;  // rows packed, or apart as in a qkv matrix
          const int nblocks = (len + bs - 1) / bs;
          std::vector<float> pool(static_cast<std::size_t>(nblocks) * 2 * bs * stride);
          for (auto& v : pool) v = normal(rng);
          std::vector<const float*> kb(nblocks), vb(nblocks);
          for (int b = 0; b < nblocks; ++b) {  // block b of the sequence sits at slot nblocks-1-b
            const float* slot = pool.data() + static_cast<std::size_t>(nblocks - 1 - b) * 2 * bs * stride;
            kb[b] = slot;
            vb[b] = slot + static_cast<std::size_t>(bs) * stride;
          }
          std::vector<float> q(hd), mk(hd), mv(hd);
          for (int j = 0; j < hd; ++j) q[j] = normal(rng), mk[j] = normal(rng), mv[j] = normal(rng);
          const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
          double mem_score = 0;
          for (int j = 0; j < hd; ++j) mem_score += static_cast<double>(q[j]) * mk[j];
          mem_score *= scale;
          // Reference in float64.
          std::vector<double> s(len);
          double mx = memory ? mem_score : -INFINITY;
          for (int t = 0; t < len; ++t) {
            const float* k = kb[t / bs] + static_cast<std::size_t>(t % bs) * stride;
            double d = 0;
            for (int j = 0; j < hd; ++j) d += static_cast<double>(q[j]) * k[j];
            s[t] = d * scale;
            mx = std::max(mx, s[t]);
          }
          double sum = memory ? std::exp(mem_score - mx) : 0;
          for (int t = 0; t < len; ++t) sum += s[t] = std::exp(s[t] - mx);
          std::vector<double> ref(hd, 0.0);
          for (int j = 0; j < hd; ++j) {
            if (memory) ref[j] += std::exp(mem_score - mx) / sum * mv[j];
            for (int t = 0; t < len; ++t)
              ref[j] += s[t] / sum * vb[t / bs][static_cast<std::size_t>(t % bs) * stride + j];
          }
          for (const kernels::CpuIsa isa : sets_here()) {
            std::vector<float> scores(len), out(hd, 123.f);
            cpu::attend(q.data(), kb.data(), vb.data(), len, bs, hd, stride, scale, memory ? mk.data() : nullptr,
                        memory ? mv.data() : nullptr, static_cast<float>(mem_score), scores.data(), out.data(), isa);
            for (int j = 0; j < hd; ++j) {
              // The output is a convex combination of values of size ~1:
              // float32 rounding of the scores, softmax and sums stays far
              // under 1e-5 at these lengths.
              ASSERT_NEAR(out[j], ref[j], 1e-5) << kernels::cpu_isa_name(isa) << " hd " << hd << " bs " << bs << " len "
                                                << len << " memory " << memory << " j " << j;
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GE(checked, 4 * 2 * 7 * 2);
}

}  // namespace
}  // namespace plotforge::runtime
