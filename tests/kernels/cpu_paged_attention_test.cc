// kernels::attend_paged against its double-precision reference, in every
// instruction set this CPU runs (AVX-512, AVX2 + FMA, plain): ragged
// lengths and head sizes, shared blocks, the memory slot, NaN in the unused
// positions of a block; the same bits for a query whatever it shares; and
// an f16 cache gives the bits of a float32 cache holding its values.
#include "kernels/cpu_paged_attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "base/dtype.h"

namespace plotforge::kernels {
namespace {

std::vector<CpuIsa> sets_here() {
  std::vector<CpuIsa> s = {CpuIsa::kPortable};
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) s.push_back(CpuIsa::kAvx2);
  if (f.avx512() && f.fma) s.push_back(CpuIsa::kAvx512);
  return s;
}

// A pool of blocks (keys [hd][bs], values [bs][hd]) and queries over them.
struct Case {
  int bs, hd;
  std::vector<std::vector<float>> keys, values;  // per block
  std::vector<std::vector<float>> q, mem_k, mem_v, out;
  std::vector<std::vector<const float*>> kp, vp;
  std::vector<PagedQuery> queries;

  Case(int bs_, int hd_) : bs(bs_), hd(hd_) {}
  int new_block(std::mt19937& rng) {
    std::normal_distribution<float> d(0.f, 1.f);
    // Unused positions hold NaN until written: a kernel that reads them leaks it.
    keys.emplace_back(static_cast<std::size_t>(hd) * bs, std::numeric_limits<float>::quiet_NaN());
    values.emplace_back(static_cast<std::size_t>(hd) * bs, std::numeric_limits<float>::quiet_NaN());
    for (float& x : keys.back()) x = d(rng);
    for (float& x : values.back()) x = d(rng);
    return static_cast<int>(keys.size()) - 1;
  }
  // Marks positions from `valid` on in block b as never written.
  void poison(int b, int valid) {
    for (int t = valid; t < bs; ++t)
      for (int j = 0; j < hd; ++j) {
        keys[b][static_cast<std::size_t>(j) * bs + t] = std::numeric_limits<float>::quiet_NaN();
        values[b][static_cast<std::size_t>(t) * hd + j] = std::numeric_limits<float>::quiet_NaN();
      }
  }
  void add(const std::vector<int>& blocks, int len, bool mem, std::mt19937& rng) {
    std::normal_distribution<float> d(0.f, 1.5f);
    q.emplace_back(hd);
    for (float& x : q.back()) x = d(rng);
    mem_k.emplace_back(hd);
    mem_v.emplace_back(hd);
    for (float& x : mem_k.back()) x = d(rng);
    for (float& x : mem_v.back()) x = d(rng);
    out.emplace_back(hd, -1.f);
    kp.emplace_back();
    vp.emplace_back();
    for (int b : blocks) {
      kp.back().push_back(keys[b].data());
      vp.back().push_back(values[b].data());
    }
    PagedQuery pq;
    pq.len = len;
    pq.mem_k = mem ? mem_k.back().data() : nullptr;
    pq.mem_v = mem ? mem_v.back().data() : nullptr;
    queries.push_back(pq);
  }
  // Pointers into the vectors, once they have stopped growing.
  void bind() {
    for (std::size_t i = 0; i < queries.size(); ++i) {
      queries[i].q = q[i].data();
      queries[i].k = kp[i].data();
      queries[i].v = vp[i].data();
      queries[i].out = out[i].data();
    }
  }
};

// A story tree: `stories` sequences on one shared prefix of `prefix`
// positions, each forked into `branches` with their own blocks, and each
// branch's prefill rows (a causal run of positions) as further queries.
Case story_case(int bs, int hd, int prefix, int stories, int branches, bool mem, std::mt19937& rng) {
  Case c(bs, hd);
  std::vector<int> shared;
  for (int t = 0; t < prefix; t += bs) shared.push_back(c.new_block(rng));
  std::uniform_int_distribution<int> extra(1, 3 * bs + 5);
  for (int s = 0; s < stories; ++s) {
    for (int k = 0; k < branches; ++k) {
      std::vector<int> blocks = shared;
      const int len = prefix + extra(rng);
      // The prefix's last block is shared only when full; otherwise each
      // branch has its own copy (as fork() does).
      if (prefix % bs) blocks.back() = c.new_block(rng);
      while (static_cast<int>(blocks.size()) * bs < len) blocks.push_back(c.new_block(rng));
      c.poison(blocks.back(), len - (static_cast<int>(blocks.size()) - 1) * bs);
      // The branch's new token, then a few of its earlier positions (a
      // prefill's rows).
      for (int l : {len, len - 1, std::max(1, len - bs - 3), 1}) c.add(blocks, l, mem, rng);
    }
  }
  c.bind();
  return c;
}

TEST(CpuPagedAttention, MatchesTheReferenceAtRaggedShapes) {
  std::mt19937 rng(7);
  for (CpuIsa isa : sets_here())
    for (int hd : {8, 32, 40, 64, 128})
      for (int bs : {16, 32})
        for (int prefix : {1, 16, 37, 80})
          for (bool mem : {false, true}) {
            Case c = story_case(bs, hd, prefix, 3, 3, mem, rng);
            const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
            attend_paged(c.queries.data(), static_cast<int>(c.queries.size()), bs, hd, scale, isa);
            std::vector<std::vector<float>> got = c.out;
            attend_paged_reference(c.queries.data(), static_cast<int>(c.queries.size()), bs, hd, scale);
            for (std::size_t i = 0; i < got.size(); ++i)
              for (int j = 0; j < hd; ++j)
                // Outputs are averages of N(0,1) values: float32 sums of a
                // few hundred terms, against double.
                ASSERT_NEAR(got[i][j], c.out[i][j], 2e-5) << "hd " << hd << " bs " << bs << " prefix " << prefix
                                                          << " mem " << mem << " query " << i << " lane " << j;
          }
}

TEST(CpuPagedAttention, AQuerysBitsDoNotDependOnWhatItShares) {
  std::mt19937 rng(11);
  for (CpuIsa isa : sets_here())
    // 40: slices of 16 and single floats; 80: a group of four slices, then one.
    for (int hd : {40, 64, 80}) {
      Case c = story_case(16, hd, 53, 4, 3, false, rng);
      const int m = static_cast<int>(c.queries.size());
      attend_paged(c.queries.data(), m, 16, hd, 0.125f, isa);
      const std::vector<std::vector<float>> together = c.out;
      // Each alone.
      for (int i = 0; i < m; ++i) {
        attend_paged(&c.queries[i], 1, 16, hd, 0.125f, isa);
        ASSERT_EQ(0, std::memcmp(together[i].data(), c.out[i].data(), hd * sizeof(float)))
            << cpu_isa_name(isa) << " query " << i;
      }
      // Reversed (other runs, other groups of four).
      std::vector<PagedQuery> rev(c.queries.rbegin(), c.queries.rend());
      attend_paged(rev.data(), m, 16, hd, 0.125f, isa);
      for (int i = 0; i < m; ++i)
        ASSERT_EQ(0, std::memcmp(together[i].data(), c.out[i].data(), hd * sizeof(float)))
            << cpu_isa_name(isa) << " query " << i;
    }
}

TEST(CpuPagedAttention, OnePositionIsItsValueAndLargeScoresStayFinite) {
  for (CpuIsa isa : sets_here()) {
    std::mt19937 rng(3);
    Case c(16, 64);
    const int b = c.new_block(rng);
    c.poison(b, 1);
    c.add({b}, 1, false, rng);
    c.bind();
    attend_paged(c.queries.data(), 1, 16, 64, 1.0f, isa);
    for (int j = 0; j < 64; ++j) EXPECT_EQ(c.out[0][j], c.values[b][j]);
    // Scores of +-1e4: the running max keeps exp in range.
    Case big(16, 64);
    const int b2 = big.new_block(rng);
    big.add({b2}, 16, true, rng);
    for (float& x : big.q[0]) x *= 1000.f;
    big.bind();
    attend_paged(big.queries.data(), 1, 16, 64, 1.0f, isa);
    std::vector<float> got = big.out[0];
    attend_paged_reference(big.queries.data(), 1, 16, 64, 1.0f);
    for (int j = 0; j < 64; ++j) {
      ASSERT_TRUE(std::isfinite(got[j]));
      EXPECT_NEAR(got[j], big.out[0][j], 1e-4);
    }
  }
}

// An f16 cache holding c's keys and values rounded to half, and c's
// queries over it. c's own blocks are rounded to the same values, so the
// float32 kernel over c sees exactly what the f16 kernel widens.
struct HalfCase {
  std::vector<std::vector<std::uint16_t>> keys, values;
  std::vector<std::vector<const std::uint16_t*>> kp, vp;
  std::vector<PagedQueryF16> queries;
  explicit HalfCase(Case& c) {
    const auto half = [](std::vector<float>& v) {
      std::vector<std::uint16_t> h(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        h[i] = float_to_f16(v[i]);
        v[i] = f16_to_float(h[i]);
      }
      return h;
    };
    for (auto& k : c.keys) keys.push_back(half(k));
    for (auto& v : c.values) values.push_back(half(v));
    for (std::size_t i = 0; i < c.queries.size(); ++i) {
      kp.emplace_back();
      vp.emplace_back();
      for (const float* k : c.kp[i]) kp.back().push_back(keys[find(c.keys, k)].data());
      for (const float* v : c.vp[i]) vp.back().push_back(values[find(c.values, v)].data());
    }
    for (std::size_t i = 0; i < c.queries.size(); ++i) {
      const PagedQuery& f = c.queries[i];
      PagedQueryF16 h;
      h.q = f.q;
      h.k = kp[i].data();
      h.v = vp[i].data();
      h.len = f.len;
      h.mem_k = f.mem_k;
      h.mem_v = f.mem_v;
      h.out = f.out;
      queries.push_back(h);
    }
  }
  static std::size_t find(const std::vector<std::vector<float>>& blocks, const float* p) {
    for (std::size_t b = 0; b < blocks.size(); ++b)
      if (blocks[b].data() == p) return b;
    ADD_FAILURE() << "a block pointer not in the case";
    return 0;
  }
};

TEST(CpuPagedAttention, AnF16CacheIsTheFloatCacheOfItsValues) {
  std::mt19937 rng(13);
  for (CpuIsa isa : sets_here())
    for (int hd : {40, 64, 80})
      for (bool mem : {false, true}) {
        Case c = story_case(16, hd, 37, 3, 3, mem, rng);
        HalfCase h(c);
        const int m = static_cast<int>(c.queries.size());
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        attend_paged(c.queries.data(), m, 16, hd, scale, isa);
        const std::vector<std::vector<float>> from_floats = c.out;
        attend_paged(h.queries.data(), m, 16, hd, scale, isa);
        const std::vector<std::vector<float>> from_halves = c.out;
        attend_paged_reference(h.queries.data(), m, 16, hd, scale);
        for (int i = 0; i < m; ++i) {
          ASSERT_EQ(0, std::memcmp(from_floats[i].data(), from_halves[i].data(), hd * sizeof(float)))
              << cpu_isa_name(isa) << " hd " << hd << " query " << i;
          for (int j = 0; j < hd; ++j)
            ASSERT_NEAR(from_halves[i][j], c.out[i][j], 2e-5) << cpu_isa_name(isa) << " query " << i << " lane " << j;
        }
      }
}

}  // namespace
}  // namespace plotforge::kernels
