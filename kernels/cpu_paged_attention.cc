#include "kernels/cpu_paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu_exp.h"

namespace plotforge::kernels {

namespace {

constexpr int kTile = kPagedTile;
// One tile's scores (and a slice of 16 of a head): a GCC vector, one zmm
// register on AVX-512, two ymm on AVX2, four xmm on x86-64.
typedef float V16 __attribute__((vector_size(kTile * sizeof(float))));
typedef std::int32_t I16 __attribute__((vector_size(kTile * sizeof(float))));

// A running max no score reaches, finite so that max - score never makes a
// NaN (exp_lane clamps it to a factor of about 1e-38 on zeros).
constexpr float kNoScore = -1e30f;

__attribute__((always_inline)) inline V16 load(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((always_inline)) inline void store(float* p, V16 v) { std::memcpy(p, &v, sizeof v); }

// Lane reductions in a fixed order (halving), the same for every query.
__attribute__((always_inline)) inline float reduce_max(V16 v) {
  float a[kTile];
  store(a, v);
  for (int w = kTile / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) a[l] = std::max(a[l], a[l + w]);
  return a[0];
}

__attribute__((always_inline)) inline float reduce_sum(V16 v) {
  float a[kTile];
  store(a, v);
  for (int w = kTile / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) a[l] += a[l + w];
  return a[0];
}

struct State {
  float* max;  // [m]
  float* sum;  // [m]
  float* acc;  // [m * hd], unnormalised
};

// One tile of keys (kt: [hd] rows of the tile's positions, bs floats apart)
// and values (v: [nmax] rows of hd) for R queries of a run, indices
// idx[0..R), with nv[r] valid positions for query r and nmax = max nv. The
// operations per query do not depend on R or on the other queries: a
// position past a query's nv adds an exact 0 to it. Sums are split in two
// (even and odd terms) so that even one query keeps two chains of FMAs in
// flight.
template <int R>
__attribute__((always_inline)) inline void tile_rows(const PagedQuery* qs, const int* idx, const int* nv, int nmax,
                                                     const float* kt, int bs, const float* v, int hd, float scale,
                                                     const State& st) {
  I16 lane;
  for (int l = 0; l < kTile; ++l) lane[l] = l;
  const float* q[R];
  for (int r = 0; r < R; ++r) q[r] = qs[idx[r]].q;
  V16 s0[R], s1[R];
  for (int r = 0; r < R; ++r) s0[r] = s1[r] = V16{};
  int j = 0;
  for (; j + 2 <= hd; j += 2) {
    const V16 k0 = load(kt + static_cast<std::size_t>(j) * bs), k1 = load(kt + static_cast<std::size_t>(j + 1) * bs);
    for (int r = 0; r < R; ++r) {
      s0[r] += q[r][j] * k0;
      s1[r] += q[r][j + 1] * k1;
    }
  }
  if (j < hd) {
    const V16 k0 = load(kt + static_cast<std::size_t>(j) * bs);
    for (int r = 0; r < R; ++r) s0[r] += q[r][j] * k0;
  }
  alignas(64) float p[R][kTile];
  float alpha[R];
  for (int r = 0; r < R; ++r) {
    const int i = idx[r];
    const I16 valid = lane < nv[r];
    const V16 sc = valid ? (s0[r] + s1[r]) * scale : V16{} + kNoScore;
    const float m = std::max(st.max[i], reduce_max(sc));
    const V16 e = valid ? exp_lane<V16, I16>(sc - m) : V16{};
    store(p[r], e);
    alpha[r] = exp_lane(st.max[i] - m);
    st.sum[i] = st.sum[i] * alpha[r] + reduce_sum(e);
    st.max[i] = m;
  }
  // acc = acc * alpha + sum_l p[l] v[l], 16 floats of the head at a time:
  // each value row's slice is loaded once for the R queries.
  int c = 0;
  for (; c + kTile <= hd; c += kTile) {
    V16 a[R], b[R];
    for (int r = 0; r < R; ++r) {
      a[r] = load(st.acc + static_cast<std::size_t>(idx[r]) * hd + c) * alpha[r];
      b[r] = V16{};
    }
    int l = 0;
    for (; l + 2 <= nmax; l += 2) {
      const V16 v0 = load(v + static_cast<std::size_t>(l) * hd + c),
                v1 = load(v + static_cast<std::size_t>(l + 1) * hd + c);
      for (int r = 0; r < R; ++r) {
        a[r] += p[r][l] * v0;
        b[r] += p[r][l + 1] * v1;
      }
    }
    if (l < nmax) {
      const V16 v0 = load(v + static_cast<std::size_t>(l) * hd + c);
      for (int r = 0; r < R; ++r) a[r] += p[r][l] * v0;
    }
    for (int r = 0; r < R; ++r) store(st.acc + static_cast<std::size_t>(idx[r]) * hd + c, a[r] + b[r]);
  }
  for (; c < hd; ++c) {
    for (int r = 0; r < R; ++r) {
      float a = st.acc[static_cast<std::size_t>(idx[r]) * hd + c] * alpha[r];
      for (int l = 0; l < nmax; ++l) a += p[r][l] * v[static_cast<std::size_t>(l) * hd + c];
      st.acc[static_cast<std::size_t>(idx[r]) * hd + c] = a;
    }
  }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3"))) void attend_paged(const PagedQuery* qs,
                                                                                               int m, int bs, int hd,
                                                                                               float scale) {
  if (m <= 0) return;
  std::vector<float> buf(static_cast<std::size_t>(m) * (hd + 2));
  const State st{buf.data(), buf.data() + m, buf.data() + 2 * m};
  int max_len = 0;
  for (int i = 0; i < m; ++i) {
    const PagedQuery& pq = qs[i];
    max_len = std::max(max_len, pq.len);
    float* acc = st.acc + static_cast<std::size_t>(i) * hd;
    if (pq.mem_k) {
      float d = 0;
      for (int j = 0; j < hd; ++j) d += pq.q[j] * pq.mem_k[j];
      st.max[i] = d * scale;
      st.sum[i] = 1;
      std::copy_n(pq.mem_v, hd, acc);
    } else {
      st.max[i] = kNoScore;
      st.sum[i] = 0;
      std::fill_n(acc, hd, 0.f);
    }
  }
  std::vector<int> run(m), nv(m);
  for (int b = 0, pos0 = 0; pos0 < max_len; ++b, pos0 += bs) {
    for (int t0 = 0; t0 < bs && pos0 + t0 < max_len; t0 += kTile) {
      const int tile_start = pos0 + t0;
      // Runs of adjacent queries reading this block (queries that end
      // before the tile neither join nor break a run).
      int i = 0;
      while (i < m) {
        if (qs[i].len <= tile_start) {
          ++i;
          continue;
        }
        const float* kb = qs[i].k[b];
        int n = 0, nmax = 0;
        for (; i < m; ++i) {
          if (qs[i].len <= tile_start) continue;
          if (qs[i].k[b] != kb) break;
          run[n] = i;
          nv[n] = std::min(kTile, qs[i].len - tile_start);
          nmax = std::max(nmax, nv[n]);
          ++n;
        }
        const float* kt = kb + t0;
        const float* v = qs[run[0]].v[b] + static_cast<std::size_t>(t0) * hd;
        int r = 0;
        for (; r + 4 <= n; r += 4) tile_rows<4>(qs, &run[r], &nv[r], nmax, kt, bs, v, hd, scale, st);
        switch (n - r) {
          case 3:
            tile_rows<3>(qs, &run[r], &nv[r], nmax, kt, bs, v, hd, scale, st);
            break;
          case 2:
            tile_rows<2>(qs, &run[r], &nv[r], nmax, kt, bs, v, hd, scale, st);
            break;
          case 1:
            tile_rows<1>(qs, &run[r], &nv[r], nmax, kt, bs, v, hd, scale, st);
            break;
        }
      }
    }
  }
  for (int i = 0; i < m; ++i) {
    const float inv = 1.0f / st.sum[i];
    const float* acc = st.acc + static_cast<std::size_t>(i) * hd;
    for (int j = 0; j < hd; ++j) qs[i].out[j] = acc[j] * inv;
  }
}

void attend_paged_reference(const PagedQuery* qs, int m, int bs, int hd, float scale) {
  for (int i = 0; i < m; ++i) {
    const PagedQuery& pq = qs[i];
    std::vector<double> score(pq.len);
    double mx = -INFINITY, mem = 0;
    if (pq.mem_k) {
      for (int j = 0; j < hd; ++j) mem += static_cast<double>(pq.q[j]) * pq.mem_k[j];
      mem *= scale;
      mx = mem;
    }
    for (int t = 0; t < pq.len; ++t) {
      const float* kb = pq.k[t / bs];
      double d = 0;
      for (int j = 0; j < hd; ++j) d += static_cast<double>(pq.q[j]) * kb[static_cast<std::size_t>(j) * bs + t % bs];
      score[t] = d * scale;
      mx = std::max(mx, score[t]);
    }
    double sum = pq.mem_k ? std::exp(mem - mx) : 0;
    for (double& s : score) sum += (s = std::exp(s - mx));
    for (int j = 0; j < hd; ++j) {
      double o = pq.mem_k ? std::exp(mem - mx) * pq.mem_v[j] : 0;
      for (int t = 0; t < pq.len; ++t) o += score[t] * pq.v[t / bs][static_cast<std::size_t>(t % bs) * hd + j];
      pq.out[j] = static_cast<float>(o / sum);
    }
  }
}

}  // namespace plotforge::kernels
