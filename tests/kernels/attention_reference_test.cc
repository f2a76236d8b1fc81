// The CPU references against naive math and finite differences (default suite).
#include "kernels/attention_reference.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "kernels/attention_shape.h"

namespace plotforge::kernels {
namespace {

std::vector<float> randn(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::size_t q_elems(const AttentionShape& s) {
  return static_cast<std::size_t>(s.batch) * s.heads * s.q_len * s.head_dim;
}
std::size_t kv_elems(const AttentionShape& s) {
  return static_cast<std::size_t>(s.batch) * s.kv_heads * s.kv_len * s.head_dim;
}

// Softmax(QK^T * scale + mask) V written as matrices, K/V repeated per head.
std::vector<float> naive(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                         const AttentionShape& s) {
  const int D = s.head_dim;
  std::vector<float> o(q_elems(s));
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.heads; ++h) {
      const int kh = h * s.kv_heads / s.heads;
      for (int i = 0; i < s.q_len; ++i) {
        std::vector<double> w(s.kv_len, 0.0);
        double z = 0;
        for (int j = 0; j < s.kv_len; ++j) {
          if (s.causal && j > i + s.kv_len - s.q_len) continue;
          double dot = 0;
          for (int d = 0; d < D; ++d)
            dot += q[(((b * s.heads + h) * s.q_len) + i) * D + d] * k[(((b * s.kv_heads + kh) * s.kv_len) + j) * D + d];
          w[j] = std::exp(dot / std::sqrt(static_cast<double>(D)));
          z += w[j];
        }
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int j = 0; j < s.kv_len; ++j) acc += w[j] * v[(((b * s.kv_heads + kh) * s.kv_len) + j) * D + d];
          o[(((b * s.heads + h) * s.q_len) + i) * D + d] = z > 0 ? static_cast<float>(acc / z) : 0.f;
        }
      }
    }
  return o;
}

TEST(AttentionReference, ForwardMatchesNaiveMath) {
  std::mt19937 rng(1);
  for (const bool causal : {false, true}) {
    for (const auto [hq, hk, tq, tk] : {std::tuple{2, 2, 5, 5}, {4, 2, 3, 7}, {4, 1, 9, 9}, {2, 2, 6, 4}}) {
      AttentionShape s;
      s.batch = 2, s.heads = hq, s.kv_heads = hk, s.q_len = tq, s.kv_len = tk, s.head_dim = 8, s.causal = causal;
      const auto q = randn(q_elems(s), rng), k = randn(kv_elems(s), rng), v = randn(kv_elems(s), rng);
      std::vector<float> o(q_elems(s)), lse(q_elems(s) / s.head_dim);
      attention_forward_reference(q.data(), k.data(), v.data(), o.data(), lse.data(), s);
      const auto expect = naive(q, k, v, s);
      for (std::size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], expect[i], 1e-5) << i;
      if (causal && tq > tk) EXPECT_TRUE(std::isinf(lse[0]));  // row 0 sees no key
    }
  }
}

TEST(AttentionReference, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(2);
  AttentionShape s;
  s.batch = 1, s.heads = 2, s.kv_heads = 1, s.q_len = 4, s.kv_len = 5, s.head_dim = 4, s.causal = true;
  auto q = randn(q_elems(s), rng), k = randn(kv_elems(s), rng), v = randn(kv_elems(s), rng);
  const auto d_o = randn(q_elems(s), rng);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward_reference(q.data(), k.data(), v.data(), d_o.data(), dq.data(), dk.data(), dv.data(), s);
  auto loss = [&] {
    std::vector<float> o(q_elems(s));
    attention_forward_reference(q.data(), k.data(), v.data(), o.data(), nullptr, s);
    double l = 0;
    for (std::size_t i = 0; i < o.size(); ++i) l += static_cast<double>(o[i]) * d_o[i];
    return l;
  };
  const float eps = 1e-2f;
  for (auto [x, g] : {std::pair{&q, &dq}, {&k, &dk}, {&v, &dv}}) {
    for (std::size_t i = 0; i < x->size(); ++i) {
      const float keep = (*x)[i];
      (*x)[i] = keep + eps;
      const double up = loss();
      (*x)[i] = keep - eps;
      const double down = loss();
      (*x)[i] = keep;
      EXPECT_NEAR((*g)[i], (up - down) / (2 * eps), 2e-3) << i;
    }
  }
}

TEST(AttentionReference, PagedDecodeEqualsContiguousAttention) {
  std::mt19937 rng(3);
  PagedDecodeShape p;
  p.num_seqs = 3, p.heads = 4, p.kv_heads = 2, p.head_dim = 8, p.block_size = 4, p.max_blocks_per_seq = 5;
  const int lens[3] = {1, 7, 20};
  const int n_blocks = 15;
  std::vector<int> table(p.num_seqs * p.max_blocks_per_seq);
  std::vector<int> perm(n_blocks);
  for (int i = 0; i < n_blocks; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = perm[i];
  const auto kc = randn(static_cast<std::size_t>(n_blocks) * p.kv_heads * p.block_size * p.head_dim, rng);
  const auto vc = randn(kc.size(), rng);
  const auto q = randn(static_cast<std::size_t>(p.num_seqs) * p.heads * p.head_dim, rng);
  std::vector<float> o(q.size());
  decode_attention_reference(q.data(), kc.data(), vc.data(), table.data(), lens, o.data(), p);
  for (int n = 0; n < p.num_seqs; ++n) {
    AttentionShape s;
    s.heads = p.heads, s.kv_heads = p.kv_heads, s.q_len = 1, s.kv_len = lens[n], s.head_dim = p.head_dim,
    s.causal = true;
    std::vector<float> k(kv_elems(s)), v(kv_elems(s));
    for (int h = 0; h < p.kv_heads; ++h)
      for (int t = 0; t < lens[n]; ++t)
        for (int d = 0; d < p.head_dim; ++d) {
          const int blk = table[n * p.max_blocks_per_seq + t / p.block_size];
          const std::size_t src =
              ((static_cast<std::size_t>(blk) * p.kv_heads + h) * p.block_size + t % p.block_size) * p.head_dim + d;
          k[(h * lens[n] + t) * p.head_dim + d] = kc[src];
          v[(h * lens[n] + t) * p.head_dim + d] = vc[src];
        }
    const std::vector<float> qn(q.begin() + n * p.heads * p.head_dim, q.begin() + (n + 1) * p.heads * p.head_dim);
    const auto expect = naive(qn, k, v, s);
    for (int i = 0; i < p.heads * p.head_dim; ++i) EXPECT_NEAR(o[n * p.heads * p.head_dim + i], expect[i], 1e-5);
  }
}

}  // namespace
}  // namespace plotforge::kernels
