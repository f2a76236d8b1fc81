#include "kernels/attention_reference.h"

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention_shape.h"

namespace plotforge::kernels {

namespace {

double scale_of(float s, int d) { return s > 0 ? s : 1.0 / std::sqrt(static_cast<double>(d)); }

bool visible(const AttentionShape& s, int i, int j) { return !s.causal || j <= i + (s.kv_len - s.q_len); }

}  // namespace

void attention_forward_reference(const float* q, const float* k, const float* v, float* o, float* lse,
                                 const AttentionShape& s) {
  const int D = s.head_dim, group = s.heads / s.kv_heads;
  const double scale = scale_of(s.scale, D);
  std::vector<double> p(s.kv_len);
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      const float* K = k + (static_cast<std::size_t>(b) * s.kv_heads + h / group) * s.kv_len * D;
      const float* V = v + (static_cast<std::size_t>(b) * s.kv_heads + h / group) * s.kv_len * D;
      for (int i = 0; i < s.q_len; ++i) {
        const std::size_t row = (static_cast<std::size_t>(b) * s.heads + h) * s.q_len + i;
        const float* Q = q + row * D;
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < s.kv_len; ++j) {
          if (!visible(s, i, j)) continue;
          double dot = 0;
          for (int d = 0; d < D; ++d) dot += static_cast<double>(Q[d]) * K[static_cast<std::size_t>(j) * D + d];
          p[j] = dot * scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int j = 0; j < s.kv_len; ++j) {
          if (visible(s, i, j)) sum += std::exp(p[j] - mx);
        }
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int j = 0; j < s.kv_len; ++j) {
            if (visible(s, i, j)) acc += std::exp(p[j] - mx) * V[static_cast<std::size_t>(j) * D + d];
          }
          o[row * D + d] = sum > 0 ? static_cast<float>(acc / sum) : 0.f;
        }
        if (lse) lse[row] = sum > 0 ? static_cast<float>(mx + std::log(sum)) : -std::numeric_limits<float>::infinity();
      }
    }
  }
}

void attention_backward_reference(const float* q, const float* k, const float* v, const float* d_o, float* dq,
                                  float* dk, float* dv, const AttentionShape& s) {
  const int D = s.head_dim, group = s.heads / s.kv_heads;
  const double scale = scale_of(s.scale, D);
  const std::size_t nq = static_cast<std::size_t>(s.batch) * s.heads * s.q_len * D;
  const std::size_t nk = static_cast<std::size_t>(s.batch) * s.kv_heads * s.kv_len * D;
  std::vector<double> gq(nq, 0.0), gk(nk, 0.0), gv(nk, 0.0), p(s.kv_len), dp(s.kv_len);
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      const std::size_t kv_base = (static_cast<std::size_t>(b) * s.kv_heads + h / group) * s.kv_len * D;
      for (int i = 0; i < s.q_len; ++i) {
        const std::size_t row = ((static_cast<std::size_t>(b) * s.heads + h) * s.q_len + i) * D;
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < s.kv_len; ++j) {
          if (!visible(s, i, j)) continue;
          double dot = 0;
          for (int d = 0; d < D; ++d) dot += static_cast<double>(q[row + d]) * k[kv_base + j * D + d];
          p[j] = dot * scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int j = 0; j < s.kv_len; ++j) sum += visible(s, i, j) ? std::exp(p[j] - mx) : 0.0;
        if (sum == 0) continue;
        for (int j = 0; j < s.kv_len; ++j) p[j] = visible(s, i, j) ? std::exp(p[j] - mx) / sum : 0.0;
        // dP = dO V^T; dS = P * (dP - sum_j P dP); dQ = scale dS K; dK = scale dS^T Q; dV = P^T dO.
        double row_dot = 0;
        for (int j = 0; j < s.kv_len; ++j) {
          double acc = 0;
          for (int d = 0; d < D; ++d) acc += static_cast<double>(d_o[row + d]) * v[kv_base + j * D + d];
          dp[j] = acc;
          row_dot += p[j] * acc;
        }
        for (int j = 0; j < s.kv_len; ++j) {
          if (p[j] == 0) continue;
          const double ds = p[j] * (dp[j] - row_dot) * scale;
          for (int d = 0; d < D; ++d) {
            gq[row + d] += ds * k[kv_base + j * D + d];
            gk[kv_base + j * D + d] += ds * q[row + d];
            gv[kv_base + j * D + d] += p[j] * d_o[row + d];
          }
        }
      }
    }
  }
  for (std::size_t i = 0; i < nq; ++i) dq[i] = static_cast<float>(gq[i]);
  for (std::size_t i = 0; i < nk; ++i) {
    dk[i] = static_cast<float>(gk[i]);
    dv[i] = static_cast<float>(gv[i]);
  }
}

void decode_attention_reference(const float* q, const float* k_cache, const float* v_cache, const int* block_table,
                                const int* seq_lens, float* o, const PagedDecodeShape& s) {
  const int D = s.head_dim, group = s.heads / s.kv_heads;
  const double scale = scale_of(s.scale, D);
  for (int n = 0; n < s.num_seqs; ++n) {
    const int len = seq_lens[n];
    std::vector<double> p(len);
    for (int h = 0; h < s.heads; ++h) {
      const float* Q = q + (static_cast<std::size_t>(n) * s.heads + h) * D;
      auto at = [&](const float* cache, int t) {
        const int block = block_table[static_cast<std::size_t>(n) * s.max_blocks_per_seq + t / s.block_size];
        return cache +
               ((static_cast<std::size_t>(block) * s.kv_heads + h / group) * s.block_size + t % s.block_size) * D;
      };
      double mx = -std::numeric_limits<double>::infinity();
      for (int t = 0; t < len; ++t) {
        const float* K = at(k_cache, t);
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += static_cast<double>(Q[d]) * K[d];
        p[t] = dot * scale;
        mx = std::max(mx, p[t]);
      }
      double sum = 0;
      for (int t = 0; t < len; ++t) sum += std::exp(p[t] - mx);
      for (int d = 0; d < D; ++d) {
        double acc = 0;
        for (int t = 0; t < len; ++t) acc += std::exp(p[t] - mx) * at(v_cache, t)[d];
        o[(static_cast<std::size_t>(n) * s.heads + h) * D + d] = len > 0 ? static_cast<float>(acc / sum) : 0.f;
      }
    }
  }
}

}  // namespace plotforge::kernels
