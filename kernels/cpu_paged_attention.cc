#include "kernels/cpu_paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>

// GCC 12's _mm512_cvtph_ps starts from _mm512_undefined_ps, which it then
// reports as "used uninitialized": a false positive of the intrinsic
// headers (kernels/cpu_matmul.cc says the same).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "base/dtype.h"
#include "kernels/cpu_exp.h"

namespace plotforge::kernels {

namespace {

constexpr int kTile = kPagedTile;
// One tile's scores (and a slice of 16 of a head): a GCC vector, one zmm
// register on AVX-512, two ymm on AVX2, four xmm on plain x86-64.
typedef float V16 __attribute__((vector_size(kTile * sizeof(float))));
typedef std::int32_t I16 __attribute__((vector_size(kTile * sizeof(float))));

// A running max no score reaches, finite so that max - score never makes a
// NaN (exp_lane clamps it to a factor of about 1e-38 on zeros).
constexpr float kNoScore = -1e30f;

// A key or value from the cache as a float (an f16 cache's exactly).
inline float kv_float(float x) { return x; }
inline float kv_float(std::uint16_t h) { return f16_to_float(h); }

}  // namespace

// The body once per instruction set, each with its own multiply-add.
#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace avx512 {
__attribute__((always_inline)) inline V16 fma(V16 a, V16 b, V16 c) {
  return reinterpret_cast<V16>(
      _mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b), reinterpret_cast<__m512>(c)));
}
__attribute__((always_inline)) inline V16 splat(float x) { return reinterpret_cast<V16>(_mm512_set1_ps(x)); }
__attribute__((always_inline)) inline V16 widen_f16(const std::uint16_t* p) {
  return reinterpret_cast<V16>(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
}
// Four queries' accumulators (16 of the 32 registers) per group.
constexpr int kGroup = 4;
#include "kernels/cpu_paged_attention_body.inc"
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace avx2 {
typedef float V8 __attribute__((vector_size(8 * sizeof(float))));
__attribute__((always_inline)) inline V16 fma(V16 a, V16 b, V16 c) {
  const V8 lo = reinterpret_cast<V8>(
      _mm256_fmadd_ps(reinterpret_cast<__m256>(__builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7)),
                      reinterpret_cast<__m256>(__builtin_shufflevector(b, b, 0, 1, 2, 3, 4, 5, 6, 7)),
                      reinterpret_cast<__m256>(__builtin_shufflevector(c, c, 0, 1, 2, 3, 4, 5, 6, 7))));
  const V8 hi = reinterpret_cast<V8>(
      _mm256_fmadd_ps(reinterpret_cast<__m256>(__builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15)),
                      reinterpret_cast<__m256>(__builtin_shufflevector(b, b, 8, 9, 10, 11, 12, 13, 14, 15)),
                      reinterpret_cast<__m256>(__builtin_shufflevector(c, c, 8, 9, 10, 11, 12, 13, 14, 15))));
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
__attribute__((always_inline)) inline V16 splat(float x) { return V16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
__attribute__((always_inline)) inline V16 widen_f16(const std::uint16_t* p) {
  const V8 lo = reinterpret_cast<V8>(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  const V8 hi = reinterpret_cast<V8>(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8))));
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
// A V16 is two of the 16 ymm registers: two queries' accumulators per group.
constexpr int kGroup = 2;
#include "kernels/cpu_paged_attention_body.inc"
}  // namespace avx2
#pragma GCC pop_options
#endif

namespace portable {
// No FMA: a multiply, then an add (never fused, cpu_paged_attention.h).
__attribute__((always_inline)) inline V16 fma(V16 a, V16 b, V16 c) { return a * b + c; }
__attribute__((always_inline)) inline V16 splat(float x) { return V16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
inline V16 widen_f16(const std::uint16_t* p) {
  V16 v;
  for (int i = 0; i < kTile; ++i) v[i] = f16_to_float(p[i]);
  return v;
}
constexpr int kGroup = 1;  // a V16 is four of the 16 xmm registers
#include "kernels/cpu_paged_attention_body.inc"
}  // namespace portable

namespace {

template <class E>
void attend_paged_on(const PagedQueryOf<E>* queries, int m, int bs, int hd, float scale, CpuIsa isa) {
#if defined(__x86_64__)
  if (is_avx512(isa)) return avx512::run(queries, m, bs, hd, scale);
  if (isa == CpuIsa::kAvx2) return avx2::run(queries, m, bs, hd, scale);
#endif
  portable::run(queries, m, bs, hd, scale);
}

template <class E>
void reference(const PagedQueryOf<E>* qs, int m, int bs, int hd, float scale) {
  for (int i = 0; i < m; ++i) {
    const PagedQueryOf<E>& pq = qs[i];
    std::vector<double> score(pq.len);
    double mx = -INFINITY, mem = 0;
    if (pq.mem_k) {
      for (int j = 0; j < hd; ++j) mem += static_cast<double>(pq.q[j]) * pq.mem_k[j];
      mem *= scale;
      mx = mem;
    }
    for (int t = 0; t < pq.len; ++t) {
      const E* kb = pq.k[t / bs];
      double d = 0;
      for (int j = 0; j < hd; ++j)
        d += static_cast<double>(pq.q[j]) * kv_float(kb[static_cast<std::size_t>(j) * bs + t % bs]);
      score[t] = d * scale;
      mx = std::max(mx, score[t]);
    }
    double sum = pq.mem_k ? std::exp(mem - mx) : 0;
    for (double& s : score) sum += (s = std::exp(s - mx));
    for (int j = 0; j < hd; ++j) {
      double o = pq.mem_k ? std::exp(mem - mx) * pq.mem_v[j] : 0;
      for (int t = 0; t < pq.len; ++t)
        o += score[t] * kv_float(pq.v[t / bs][static_cast<std::size_t>(t % bs) * hd + j]);
      pq.out[j] = static_cast<float>(o / sum);
    }
  }
}

}  // namespace

void attend_paged(const PagedQuery* queries, int m, int bs, int hd, float scale, CpuIsa isa) {
  attend_paged_on(queries, m, bs, hd, scale, isa);
}
void attend_paged(const PagedQueryF16* queries, int m, int bs, int hd, float scale, CpuIsa isa) {
  attend_paged_on(queries, m, bs, hd, scale, isa);
}
void attend_paged_reference(const PagedQuery* queries, int m, int bs, int hd, float scale) {
  reference(queries, m, bs, hd, scale);
}
void attend_paged_reference(const PagedQueryF16* queries, int m, int bs, int hd, float scale) {
  reference(queries, m, bs, hd, scale);
}

}  // namespace plotforge::kernels
