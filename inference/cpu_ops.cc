#include "inference/cpu_ops.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "base/cpu_features.h"
#include "inference/adapter.h"
#include "inference/parallel.h"
#include "kernels/cpu_matmul.h"

namespace plotforge::runtime::cpu {

void prepare_threads() {
  // OpenBLAS runs single-threaded inside the runtime's threads, each on its
  // own slice of weight rows: one set of threads for everything, none of
  // them spinning against another pool's. Done once, before the first
  // request (it takes tens of milliseconds), along with the pool's start.
  static const bool once = [] {
    openblas_set_num_threads(1);
    parallel_for(1024, 1, [](std::size_t, std::size_t) {});
    return true;
  }();
  (void)once;
}

kernels::CpuIsa matmul_isa(WeightType t) {
  static const kernels::CpuIsa widest = [] {
    const CpuFeatures& f = cpu_features();
    if (f.avx512() && f.fma && f.f16c) return kernels::CpuIsa::kAvx512;
    if (f.avx2 && f.fma && f.f16c) return kernels::CpuIsa::kAvx2;
    return kernels::CpuIsa::kPortable;
  }();
  if (widest == kernels::CpuIsa::kAvx512 && t == WeightType::kBF16 && cpu_features().avx512_bf16) {
    return kernels::CpuIsa::kAvx512Bf16;
  }
  return widest;
}

void matmul(const float* x, const WeightMatrix& w, float* y, int n) {
  const int in = w.cols, out = w.rows;
  if (n == 1 && w.type == WeightType::kF32) {
    // A float32 matrix-vector product: OpenBLAS's sgemv kernel, measured
    // faster than ours on weights that sit in the cache (small models).
    parallel_for(static_cast<std::size_t>(out), 64, [&](std::size_t begin, std::size_t end) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(end - begin), in, 1.0f,
                  reinterpret_cast<const float*>(w.row(static_cast<int>(begin))), in, x, 1, 0.0f, y + begin, 1);
    });
    return;
  }
  if (n <= gemm_rows(w.type)) {
    const kernels::CpuIsa isa = matmul_isa(w.type);
    // Chunks of at least 16 weight rows; a small matrix runs inline.
    parallel_for(static_cast<std::size_t>(out), 64, [&](std::size_t begin, std::size_t end) {
      kernels::matmul_rows(w, x, n, y, out, static_cast<int>(begin), static_cast<int>(end), isa);
    });
    return;
  }
  parallel_for(static_cast<std::size_t>(out), 64, [&](std::size_t begin, std::size_t end) {
    const int r0 = static_cast<int>(begin), rows = static_cast<int>(end - begin);
    if (w.type == WeightType::kF32) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, rows, in, 1.0f, x, in,
                  reinterpret_cast<const float*>(w.row(r0)), in, 0.0f, y + r0, out);
      return;
    }
    // Other precisions: widen a panel of rows, multiply it, move on (the
    // widening is read once against n rows of arithmetic).
    constexpr int kPanel = 64;
    thread_local std::vector<float> panel;
    panel.resize(static_cast<std::size_t>(kPanel) * in);
    for (int p0 = r0; p0 < r0 + rows; p0 += kPanel) {
      const int pr = std::min(kPanel, r0 + rows - p0);
      kernels::widen_rows(w, p0, p0 + pr, panel.data(), matmul_isa(WeightType::kF32));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, pr, in, 1.0f, x, in, panel.data(), in, 0.0f, y + p0, out);
    }
  });
}

void rms_norm(const float* x, const float* w, float* y, int n, int d, float eps) {
  for (int i = 0; i < n; ++i) {
    const float* xi = x + static_cast<std::size_t>(i) * d;
    float ss = 0;
    for (int k = 0; k < d; ++k) ss += xi[k] * xi[k];
    const float r = 1.0f / std::sqrt(ss / d + eps);
    float* yi = y + static_cast<std::size_t>(i) * d;
    for (int k = 0; k < d; ++k) yi[k] = xi[k] * r * w[k];
  }
}

void rope(float* v, const float* cos, const float* sin, int hd) {
  const int h = hd / 2;
  for (int k = 0; k < h; ++k) {
    const float a = v[k], b = v[k + h];
    v[k] = a * cos[k] - b * sin[k];
    v[k + h] = b * cos[k + h] + a * sin[k + h];
  }
}

void swiglu(const float* gate_up, float* act, int n, int hidden) {
  const int F = hidden;
  parallel_for(n, 8, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      const float* g = gate_up + r * 2 * F;
      float* a = act + r * F;
      for (int i = 0; i < F; ++i) a[i] = g[i] / (1.0f + std::exp(-g[i])) * g[F + i];
    }
  });
}

void block_output(const LayerWeights& w, const float* att, float* x, int n, int dim, int hidden, float eps, float* h,
                  float* gate_up, float* act, float* proj, const BatchAdapters* lora, int layer) {
  const std::size_t size = static_cast<std::size_t>(n) * dim;
  const int q_out = w.wo.cols;
  matmul(att, w.wo, proj, n);
  if (lora) lora->apply(layer, Proj::kO, att, q_out, proj, dim);
  for (std::size_t i = 0; i < size; ++i) x[i] += proj[i];
  rms_norm(x, w.post_norm, h, n, dim, eps);
  matmul(h, w.wgate_up, gate_up, n);
  if (lora) {
    lora->apply(layer, Proj::kGate, h, dim, gate_up, 2 * hidden);
    lora->apply(layer, Proj::kUp, h, dim, gate_up + hidden, 2 * hidden);
  }
  swiglu(gate_up, act, n, hidden);
  matmul(act, w.wdown, proj, n);
  if (lora) lora->apply(layer, Proj::kDown, act, hidden, proj, dim);
  for (std::size_t i = 0; i < size; ++i) x[i] += proj[i];
}

namespace {

__attribute__((always_inline)) inline void attend_body(const float* q, const float* const* key_blocks,
                                                       const float* const* value_blocks, int len, int bs, int hd,
                                                       int stride, float scale, const float* mem_k, const float* mem_v,
                                                       float mem_score, float* scores, float* out) {
  float mx = mem_k ? mem_score : -INFINITY;
  for (int t0 = 0, b = 0; t0 < len; t0 += bs, ++b) {
    const float* k = key_blocks[b];
    const int n = std::min(bs, len - t0);
    for (int i = 0; i < n; ++i) {
      const float* kr = k + static_cast<std::size_t>(i) * stride;
      float d = 0;
#pragma omp simd reduction(+ : d)
      for (int j = 0; j < hd; ++j) d += q[j] * kr[j];
      scores[t0 + i] = d * scale;
      mx = std::max(mx, scores[t0 + i]);
    }
  }
  float sum = 0;
  for (int t = 0; t < len; ++t) {
    scores[t] = std::exp(scores[t] - mx);
    sum += scores[t];
  }
  std::fill_n(out, hd, 0.f);
  float p_mem = 0;
  if (mem_v) {
    p_mem = std::exp(mem_score - mx);
    sum += p_mem;
  }
  const float inv = 1.0f / sum;
  if (mem_v) {
    const float a = p_mem * inv;
#pragma omp simd
    for (int j = 0; j < hd; ++j) out[j] += a * mem_v[j];
  }
  for (int t0 = 0, b = 0; t0 < len; t0 += bs, ++b) {
    const float* v = value_blocks[b];
    const int n = std::min(bs, len - t0);
    for (int i = 0; i < n; ++i) {
      const float a = scores[t0 + i] * inv;
      const float* vr = v + static_cast<std::size_t>(i) * stride;
#pragma omp simd
      for (int j = 0; j < hd; ++j) out[j] += a * vr[j];
    }
  }
}

#if defined(__x86_64__)
// attend_body for a head of NV x 8 floats in AVX2 registers: the query and
// the output stay in registers, four keys' dot products are summed at once
// and reduced together (one horizontal reduction per four keys rather than
// per key), and two value rows are accumulated per pass. Same sums as
// attend_body up to their order (within a float32 sum's rounding bound).
template <int NV>
__attribute__((target("avx2,fma"))) void attend_avx2_regs(const float* q, const float* const* key_blocks,
                                                          const float* const* value_blocks, int len, int bs, int stride,
                                                          float scale, const float* mem_k, const float* mem_v,
                                                          float mem_score, float* scores, float* out) {
  constexpr int hd = NV * 8;
  __m256 qv[NV];
  for (int v = 0; v < NV; ++v) qv[v] = _mm256_loadu_ps(q + 8 * v);
  const __m256 scale_v = _mm256_set1_ps(scale);
  __m256 mx_v = _mm256_set1_ps(-INFINITY);
  for (int t0 = 0, b = 0; t0 < len; t0 += bs, ++b) {
    const float* k = key_blocks[b];
    const int n = std::min(bs, len - t0);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      const float* k0 = k + static_cast<std::size_t>(i) * stride;
      const float* k1 = k0 + stride;
      const float* k2 = k1 + stride;
      const float* k3 = k2 + stride;
      __m256 a0 = _mm256_mul_ps(qv[0], _mm256_loadu_ps(k0)), a1 = _mm256_mul_ps(qv[0], _mm256_loadu_ps(k1));
      __m256 a2 = _mm256_mul_ps(qv[0], _mm256_loadu_ps(k2)), a3 = _mm256_mul_ps(qv[0], _mm256_loadu_ps(k3));
      for (int v = 1; v < NV; ++v) {
        a0 = _mm256_fmadd_ps(qv[v], _mm256_loadu_ps(k0 + 8 * v), a0);
        a1 = _mm256_fmadd_ps(qv[v], _mm256_loadu_ps(k1 + 8 * v), a1);
        a2 = _mm256_fmadd_ps(qv[v], _mm256_loadu_ps(k2 + 8 * v), a2);
        a3 = _mm256_fmadd_ps(qv[v], _mm256_loadu_ps(k3 + 8 * v), a3);
      }
      // hadd twice: lane j of each 128-bit half holds key j's partial sum.
      const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
      const __m128 d = _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)),
                                  _mm256_castps256_ps128(scale_v));
      _mm_storeu_ps(scores + t0 + i, d);
      mx_v = _mm256_max_ps(mx_v, _mm256_castps128_ps256(d));
    }
    for (; i < n; ++i) {
      const float* kr = k + static_cast<std::size_t>(i) * stride;
      __m256 a = _mm256_mul_ps(qv[0], _mm256_loadu_ps(kr));
      for (int v = 1; v < NV; ++v) a = _mm256_fmadd_ps(qv[v], _mm256_loadu_ps(kr + 8 * v), a);
      __m128 r = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
      r = _mm_hadd_ps(r, r);
      r = _mm_hadd_ps(r, r);
      const float d = _mm_cvtss_f32(r) * scale;
      scores[t0 + i] = d;
      mx_v = _mm256_max_ps(mx_v, _mm256_castps128_ps256(_mm_set1_ps(d)));
    }
  }
  // The largest score: the low 128 bits hold every lane written above.
  __m128 m4 = _mm256_castps256_ps128(mx_v);
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float mx = std::max(_mm_cvtss_f32(m4), mem_k ? mem_score : -INFINITY);
  float sum = 0;
  for (int t = 0; t < len; ++t) {
    scores[t] = std::exp(scores[t] - mx);
    sum += scores[t];
  }
  float p_mem = 0;
  if (mem_v) {
    p_mem = std::exp(mem_score - mx);
    sum += p_mem;
  }
  const float inv = 1.0f / sum;
  __m256 o[NV], o2[NV];
  for (int v = 0; v < NV; ++v) o[v] = o2[v] = _mm256_setzero_ps();
  if (mem_v) {
    const __m256 a = _mm256_set1_ps(p_mem * inv);
    for (int v = 0; v < NV; ++v) o[v] = _mm256_mul_ps(a, _mm256_loadu_ps(mem_v + 8 * v));
  }
  for (int t0 = 0, b = 0; t0 < len; t0 += bs, ++b) {
    const float* vb = value_blocks[b];
    const int n = std::min(bs, len - t0);
    int i = 0;
    for (; i + 2 <= n; i += 2) {
      const float* v0 = vb + static_cast<std::size_t>(i) * stride;
      const float* v1 = v0 + stride;
      const __m256 a0 = _mm256_set1_ps(scores[t0 + i] * inv), a1 = _mm256_set1_ps(scores[t0 + i + 1] * inv);
      for (int v = 0; v < NV; ++v) {
        o[v] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(v0 + 8 * v), o[v]);
        o2[v] = _mm256_fmadd_ps(a1, _mm256_loadu_ps(v1 + 8 * v), o2[v]);
      }
    }
    for (; i < n; ++i) {
      const float* v0 = vb + static_cast<std::size_t>(i) * stride;
      const __m256 a0 = _mm256_set1_ps(scores[t0 + i] * inv);
      for (int v = 0; v < NV; ++v) o[v] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(v0 + 8 * v), o[v]);
    }
  }
  for (int v = 0; v < NV; ++v) _mm256_storeu_ps(out + 8 * v, _mm256_add_ps(o[v], o2[v]));
  static_assert(hd % 8 == 0);
}

__attribute__((target("avx2,fma"))) void attend_avx2(const float* q, const float* const* key_blocks,
                                                     const float* const* value_blocks, int len, int bs, int hd,
                                                     int stride, float scale, const float* mem_k, const float* mem_v,
                                                     float mem_score, float* scores, float* out) {
  // The head sizes of the shipped configurations (32, 64, 128) in
  // registers; any other through the generic loops.
  switch (hd) {
    case 32:
      return attend_avx2_regs<4>(q, key_blocks, value_blocks, len, bs, stride, scale, mem_k, mem_v, mem_score, scores,
                                 out);
    case 64:
      return attend_avx2_regs<8>(q, key_blocks, value_blocks, len, bs, stride, scale, mem_k, mem_v, mem_score, scores,
                                 out);
    case 128:
      return attend_avx2_regs<16>(q, key_blocks, value_blocks, len, bs, stride, scale, mem_k, mem_v, mem_score, scores,
                                  out);
    default:
      attend_body(q, key_blocks, value_blocks, len, bs, hd, stride, scale, mem_k, mem_v, mem_score, scores, out);
  }
}
#endif

void attend_baseline(const float* q, const float* const* key_blocks, const float* const* value_blocks, int len, int bs,
                     int hd, int stride, float scale, const float* mem_k, const float* mem_v, float mem_score,
                     float* scores, float* out) {
  attend_body(q, key_blocks, value_blocks, len, bs, hd, stride, scale, mem_k, mem_v, mem_score, scores, out);
}

}  // namespace

void attend(const float* q, const float* const* key_blocks, const float* const* value_blocks, int len, int bs, int hd,
            int stride, float scale, const float* mem_k, const float* mem_v, float mem_score, float* scores, float* out,
            kernels::CpuIsa isa) {
#if defined(__x86_64__)
  if (isa != kernels::CpuIsa::kPortable) {
    attend_avx2(q, key_blocks, value_blocks, len, bs, hd, stride, scale, mem_k, mem_v, mem_score, scores, out);
    return;
  }
#endif
  attend_baseline(q, key_blocks, value_blocks, len, bs, hd, stride, scale, mem_k, mem_v, mem_score, scores, out);
}

}  // namespace plotforge::runtime::cpu
