// One file per instruction set would repeat the same loop four times; the
// sets differ only in how 8 or 16 weights are loaded and widened, so each
// set is a few load functions and one template over the weight type, the
// number of activation rows (1-4) and, for AVX-512, the number of weight
// rows (1 or 4) it carries at once.
#include "kernels/cpu_matmul.h"

#include <immintrin.h>

// GCC 12's _mm512_reduce_add_ps and masked loads start from
// _mm512_undefined_ps, which it then reports as "used uninitialized": a
// known false positive of the intrinsic headers, not of this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/dtype.h"
#include "kernels/cpu_bf16.h"

namespace plotforge::kernels {

// On the loops over a tile's activation and weight rows (a few iterations,
// known at compile time). Without it GCC 12 unrolls them too late to keep
// the accumulator arrays in registers alone: it also kept a copy of each on
// the stack and stored it on every step (16-40 stores per step in the
// listing; the store buffer hid their cost on the development VM).
#define PF_UNROLL _Pragma("GCC unroll 16")

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kPortable:
      return "portable";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512";
    case CpuIsa::kAvx512Bf16:
      return "avx512_bf16";
    case CpuIsa::kAvx512Vnni:
      return "avx512_vnni";
  }
  return "?";
}

namespace {

constexpr int kTile = 4;  // activation rows carried through one pass over a weight row

inline std::size_t at(int i, int stride) { return static_cast<std::size_t>(i) * stride; }

// ---- portable: decode the row once, four partial sums per activation row.
void portable_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  thread_local std::vector<float> row;
  const int C = w.cols;
  row.resize(C);
  for (int r = rb; r < re; ++r) {
    decode_row(w, r, row.data());
    for (int i = 0; i < n; ++i) {
      const float* xi = x + at(i, C);
      float s[4] = {0, 0, 0, 0};
      int k = 0;
      for (; k + 4 <= C; k += 4) {
        PF_UNROLL
        for (int j = 0; j < 4; ++j) s[j] += xi[k + j] * row[k + j];
      }
      for (; k < C; ++k) s[k % 4] += xi[k] * row[k];
      y[at(i, ldy) + r] = (s[0] + s[1]) + (s[2] + s[3]);
    }
  }
}

// A q8_0 block's scale (its leading half), widened by F16C: one
// instruction, where the portable conversion would cost a dozen per block.
__attribute__((target("f16c"))) inline float q8_scale(const std::uint8_t* block) {
  std::uint16_t h;
  std::memcpy(&h, block, 2);
  return _cvtsh_ss(h);
}

// How far ahead of the row it reads the AVX-512 kernel asks for 16-bit and
// q8_0 weights (bytes). A q8_0 block is 34 bytes and its conversion takes
// a dozen instructions, so the out-of-order window covers only about a
// kilobyte of the stream: without any prefetch, batch-1 q8_0 read 10 GB/s
// against 22 with one (2 KB ahead; docs/perf/runtime-cpu.md, 81e29e4). How
// far: on the Zen 4 VM, 2 KB ahead of each of the four batch-1 streams a
// core reads (128 lines asked for ahead of use) cost time, as the
// hardware's stream prefetchers keep up by themselves; decode steps of the
// 176M model took 8-12% less time at 256 bytes than at 2 KB in bf16 and
// f16 and 7% less in q8_0 on VNNI, a little less than with no prefetch at
// all, and the kernel benchmark's one large matrix read as fast either way
// (steps alternating in one process; docs/perf/runtime-cpu.md, 2026-12-04
// night). Float32 rows stream fast enough without it.
constexpr std::size_t kPrefetchAhead = 256;

// ---- AVX2 + FMA + F16C: 8 lanes, two accumulators per activation row.
#define PF_AVX2 __attribute__((target("avx2,fma,f16c")))

template <WeightType T>
PF_AVX2 inline __m256 load8(const std::uint8_t* row, int k) {
  if constexpr (T == WeightType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * static_cast<std::size_t>(k)));
    if constexpr (T == WeightType::kBF16) {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    } else {
      return _mm256_cvtph_ps(h);
    }
  }
}

PF_AVX2 inline float hsum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

template <WeightType T, int NB>
PF_AVX2 void avx2_row(const std::uint8_t* row, const float* x, int C, float* y, int ldy) {
  __m256 a0[NB], a1[NB];
  PF_UNROLL
  for (int i = 0; i < NB; ++i) a0[i] = a1[i] = _mm256_setzero_ps();
  float tail[NB] = {};
  if constexpr (T == WeightType::kQ8_0) {
    for (int b = 0; b < C / kQ8Block; ++b) {
      const std::uint8_t* blk = row + static_cast<std::size_t>(b) * kQ8BlockBytes;
      const __m256 d = _mm256_set1_ps(q8_scale(blk));
      __m256 wv[4];
      PF_UNROLL
      for (int j = 0; j < 4; ++j) {
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + 8 * j));
        wv[j] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
      }
      PF_UNROLL
      for (int i = 0; i < NB; ++i) {
        const float* xi = x + at(i, C) + b * kQ8Block;
        __m256 t = _mm256_mul_ps(wv[0], _mm256_loadu_ps(xi));
        for (int j = 1; j < 4; ++j) t = _mm256_fmadd_ps(wv[j], _mm256_loadu_ps(xi + 8 * j), t);
        a0[i] = _mm256_fmadd_ps(t, d, a0[i]);
      }
    }
  } else {
    int k = 0;
    for (; k + 16 <= C; k += 16) {
      const __m256 w0 = load8<T>(row, k), w1 = load8<T>(row, k + 8);
      PF_UNROLL
      for (int i = 0; i < NB; ++i) {
        const float* xi = x + at(i, C);
        a0[i] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xi + k), a0[i]);
        a1[i] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xi + k + 8), a1[i]);
      }
    }
    for (; k + 8 <= C; k += 8) {
      const __m256 w0 = load8<T>(row, k);
      PF_UNROLL
      for (int i = 0; i < NB; ++i) a0[i] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + at(i, C) + k), a0[i]);
    }
    for (; k < C; ++k) {
      float wk;
      if constexpr (T == WeightType::kF32) {
        std::memcpy(&wk, row + 4 * static_cast<std::size_t>(k), 4);
      } else {
        std::uint16_t h;
        std::memcpy(&h, row + 2 * static_cast<std::size_t>(k), 2);
        wk = T == WeightType::kBF16 ? bf16_to_float(h) : f16_to_float(h);
      }
      PF_UNROLL
      for (int i = 0; i < NB; ++i) tail[i] += x[at(i, C) + k] * wk;
    }
  }
  PF_UNROLL
  for (int i = 0; i < NB; ++i) y[at(i, ldy)] = hsum8(_mm256_add_ps(a0[i], a1[i])) + tail[i];
}

// Rows widened to float32 with the same loads the products use (the
// runtime widens panels of rows for its float32 tiles and for sgemm).
template <WeightType T>
PF_AVX2 void avx2_widen(const std::uint8_t* row, int C, float* out) {
  if constexpr (T == WeightType::kQ8_0) {
    for (int b = 0; b < C / kQ8Block; ++b) {
      const std::uint8_t* blk = row + static_cast<std::size_t>(b) * kQ8BlockBytes;
      const __m256 d = _mm256_set1_ps(q8_scale(blk));
      PF_UNROLL
      for (int j = 0; j < 4; ++j) {
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + 8 * j));
        _mm256_storeu_ps(out + b * kQ8Block + 8 * j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
      }
    }
  } else {
    int k = 0;
    for (; k + 8 <= C; k += 8) _mm256_storeu_ps(out + k, load8<T>(row, k));
    for (; k < C; ++k) {
      std::uint16_t h;
      std::memcpy(&h, row + 2 * static_cast<std::size_t>(k), 2);
      out[k] = T == WeightType::kBF16 ? bf16_to_float(h) : f16_to_float(h);
    }
  }
}

// ---- AVX-512: 16 lanes, masked tails.
#define PF_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))

template <WeightType T>
PF_AVX512 inline __m512 load16(const std::uint8_t* row, int k, __mmask16 m) {
  if constexpr (T == WeightType::kF32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, row + 2 * static_cast<std::size_t>(k));
    if constexpr (T == WeightType::kBF16) {
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
      return _mm512_cvtph_ps(h);
    }
  }
}

// The sums of 16 accumulators a[i][j] (i < 4 activation rows, j < 4
// weight rows) at once: out[i] holds row i's four. The lanes pair exactly
// as _mm512_reduce_add_ps pairs them, one accumulator at a time (halves of
// 256, of 128, then lanes 0+2 and 1+3, then those two; float addition
// commutes), so every output has the same bits either way; but four levels
// of shuffles over 16 accumulators at once take 30 shuffles and 15 adds
// where 16 separate reductions take about 100 instructions, which at 768
// columns was about a fifth of a 6 x 4 tile's time.
template <int NB, int MW>
PF_AVX512 inline void reduce_4x4(const __m512 (&a)[NB][MW], __m128 out[4]) {
  static_assert(NB >= 4 && MW == 4);
  // Accumulator m = 4 j + i: the last level leaves lane group i with
  // row i's four outputs in order.
  __m512 v[8];
  PF_UNROLL
  for (int p = 0; p < 8; ++p) {
    const __m512 lo = a[(2 * p) % 4][(2 * p) / 4], hi = a[(2 * p + 1) % 4][(2 * p + 1) / 4];
    v[p] = _mm512_add_ps(_mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  __m512 w[4];
  PF_UNROLL
  for (int q = 0; q < 4; ++q) {
    w[q] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * q], v[2 * q + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(v[2 * q], v[2 * q + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  __m512 t[2];
  PF_UNROLL
  for (int r = 0; r < 2; ++r) {
    t[r] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * r], w[2 * r + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(w[2 * r], w[2 * r + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  const __m512 z = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
  out[0] = _mm512_castps512_ps128(z);
  out[1] = _mm512_extractf32x4_ps(z, 1);
  out[2] = _mm512_extractf32x4_ps(z, 2);
  out[3] = _mm512_extractf32x4_ps(z, 3);
}

// One step of 16 columns of avx512_tile (below): MW weight rows against NB
// activation rows, lanes outside m read as zeros.
template <WeightType T, int NB, int MW, bool kFetchNext>
PF_AVX512 __attribute__((always_inline)) inline void avx512_step(const std::uint8_t* row0, std::size_t stride,
                                                                 const float* x, int C, int k, __mmask16 m,
                                                                 const std::uint8_t* next, __m512 (&acc)[NB][MW]) {
  __m512 w[MW];
  PF_UNROLL
  for (int j = 0; j < MW; ++j) {
    const std::uint8_t* row = row0 + j * stride;
    // One request per 64-byte line of 16-bit weights (every other step):
    // kPrefetchAhead down the row, or with `next` the same line of the
    // rows the caller takes next.
    if constexpr (T != WeightType::kF32)
      if ((k & 31) == 0)
        _mm_prefetch(kFetchNext ? reinterpret_cast<const char*>(next + j * stride) + 2 * static_cast<std::size_t>(k)
                                : reinterpret_cast<const char*>(row) + 2 * static_cast<std::size_t>(k) + kPrefetchAhead,
                     _MM_HINT_T0);
    w[j] = load16<T>(row, k, m);
    if constexpr (kFetchNext && T == WeightType::kF32)
      _mm_prefetch(reinterpret_cast<const char*>(next + j * stride) + 4 * k, _MM_HINT_T0);
  }
  PF_UNROLL
  for (int i = 0; i < NB; ++i) {
    const __m512 xv = _mm512_maskz_loadu_ps(m, x + at(i, C) + k);
    PF_UNROLL
    for (int j = 0; j < MW; ++j) acc[i][j] = _mm512_fmadd_ps(w[j], xv, acc[i][j]);
  }
}

// The tile's sums into y.
template <int NB, int MW>
PF_AVX512 __attribute__((always_inline)) inline void finish_tile(const __m512 (&acc)[NB][MW], float* y, int ldy) {
  int i = 0;
  if constexpr (NB > 4 && MW == 4) {  // the wide tile (measured slower on the 4 x 4 one)
    __m128 sums[4];
    reduce_4x4(acc, sums);
    for (; i < 4; ++i) _mm_storeu_ps(y + at(i, ldy), sums[i]);
  }
  PF_UNROLL
  for (; i < NB; ++i) {
    PF_UNROLL
    for (int j = 0; j < MW; ++j) y[at(i, ldy) + j] = _mm512_reduce_add_ps(acc[i][j]);
  }
}

// MW weight rows against NB activation rows at once, one accumulator of 16
// lanes per output. Every output goes through the same operations in the
// same order whatever NB and MW are (so a product's bits do not depend on
// the batch or on the tiling), and one load of the activations serves MW
// weight rows: at batch 8-32 the activations, re-read for every weight
// row, are what a one-row pass waits for (from L2 once they pass the L1).
// One accumulator rather than two leaves room in the registers for four
// weight rows; a single chain of FMAs still outruns memory at batch 1 (16
// lanes per 4 cycles against about 10 GB/s per core).
//
// `next` (not for q8_0; may be null): the rows the caller takes next
// (next_rows, below), fetched into the cache line by line as this tile
// reads its own, in place of the prefetch down its own rows.
template <WeightType T, int NB, int MW>
PF_AVX512 void avx512_tile(const std::uint8_t* row0, std::size_t stride, const float* x, int C, float* y, int ldy,
                           const std::uint8_t* next = nullptr) {
  __m512 acc[NB][MW];
  PF_UNROLL
  for (int i = 0; i < NB; ++i) {
    PF_UNROLL
    for (int j = 0; j < MW; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  if constexpr (T == WeightType::kQ8_0) {
    for (int b = 0; b < C / kQ8Block; ++b) {
      __m512 d[MW], w0[MW], w1[MW];
      PF_UNROLL
      for (int j = 0; j < MW; ++j) {
        const std::uint8_t* blk = row0 + j * stride + static_cast<std::size_t>(b) * kQ8BlockBytes;
        _mm_prefetch(reinterpret_cast<const char*>(blk) + kPrefetchAhead, _MM_HINT_T0);
        d[j] = _mm512_set1_ps(q8_scale(blk));
        w0[j] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2))));
        w1[j] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18))));
      }
      PF_UNROLL
      for (int i = 0; i < NB; ++i) {
        const float* xi = x + at(i, C) + b * kQ8Block;
        const __m512 x0 = _mm512_loadu_ps(xi), x1 = _mm512_loadu_ps(xi + 16);
        PF_UNROLL
        for (int j = 0; j < MW; ++j) {
          // The block's sum in the unscaled ints, then scaled into the total.
          const __m512 t = _mm512_fmadd_ps(w1[j], x1, _mm512_mul_ps(w0[j], x0));
          acc[i][j] = _mm512_fmadd_ps(t, d[j], acc[i][j]);
        }
      }
    }
  } else {
    // float32: whole vectors, then a masked tail: the same operations as
    // masking every step, without computing a mask in a loop that
    // arithmetic bounds (47 -> 59 G multiply-adds/s, bench/projection_bench).
    // 16-bit weights stream from memory at these batches, and the split
    // loop read f16 at batch 1 about 4% slower (kernels/bench).
    if constexpr (T != WeightType::kF32) {
      for (int k = 0; k < C; k += 16) {
        const int left = C - k;
        const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        if (next)
          avx512_step<T, NB, MW, true>(row0, stride, x, C, k, m, next, acc);
        else
          avx512_step<T, NB, MW, false>(row0, stride, x, C, k, m, next, acc);
      }
      return finish_tile<NB, MW>(acc, y, ldy);
    }
    int k = 0;
    if (next) {
      for (; k + 16 <= C; k += 16) avx512_step<T, NB, MW, true>(row0, stride, x, C, k, 0xFFFF, next, acc);
    } else {
      for (; k + 16 <= C; k += 16) avx512_step<T, NB, MW, false>(row0, stride, x, C, k, 0xFFFF, next, acc);
    }
    if (k < C)
      avx512_step<T, NB, MW, false>(row0, stride, x, C, k, static_cast<__mmask16>((1u << (C - k)) - 1), next, acc);
  }
  finish_tile<NB, MW>(acc, y, ldy);
}

template <WeightType T>
PF_AVX512 void avx512_widen(const std::uint8_t* row, int C, float* out) {
  if constexpr (T == WeightType::kQ8_0) {
    for (int b = 0; b < C / kQ8Block; ++b) {
      const std::uint8_t* blk = row + static_cast<std::size_t>(b) * kQ8BlockBytes;
      const __m512 d = _mm512_set1_ps(q8_scale(blk));
      for (int j = 0; j < 2; ++j) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2 + 16 * j));
        _mm512_storeu_ps(out + b * kQ8Block + 16 * j, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d));
      }
    }
  } else {
    for (int k = 0; k < C; k += 16) {
      const int left = C - k;
      const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
      _mm512_mask_storeu_ps(out + k, m, load16<T>(row, k, m));
    }
  }
}

// ---- batch 1, shared by the AVX-512 kernels.
constexpr int kQuad = 4;

// Batch 1: each pass takes one row from each quarter of the slice [rb, re)
// (rows t, t + L, t + 2L, t + 3L), so its four rows are four sequential
// streams, each prefetched kPrefetchAhead down its own quarter. Four
// adjacent rows are one stream read four ways at once, and each row's
// prefetch lands in the rows beside it, already being read: on the Zen 4
// VM (768-column rows) that read 16-bit weights at 20-21 GB/s on two
// threads against 30-32 in quarters or one row at a time; quarters keep
// the four FMA chains and four streams in flight that adjacent rows had on
// the Xeon, where one row at a time read f16 about 10% slower, and on
// weights that sit in the cache (q8_0 on the 10M model) they decode
// 10-50% faster than one row at a time (docs/perf/runtime-cpu.md).
// quad(first row, row step, out[kQuad]);
// single(row) for the leftover rows. Per output the same operations either
// way, so the bits do not change.
template <class Quad, class Single>
inline void batch1_in_quarters(int rb, int re, float* y, const Quad& quad, const Single& single) {
  const int L = (re - rb) / kQuad;
  for (int t = 0; t < L; ++t) {
    float out[kQuad];
    quad(rb + t, L, out);
    for (int j = 0; j < kQuad; ++j) y[rb + t + j * L] = out[j];
  }
  for (int r = rb + kQuad * L; r < re; ++r) single(r);
}

// Past batch 1: the rows after the `step` rows at r, for the first tile
// over r's rows to fetch as it goes (the tiles' `next`), once x has more
// than one tile of rows; null otherwise, or when they would run past re.
// Every later tile over r's rows reads them from L1, so only the first
// waits on memory, and its prefetch down its own rows lands in the rows
// beside them on 768-column matrices. Measured (cpu_matmul_bench, 4096
// columns, 2 threads, medians of 3 alternating; docs/perf/runtime-cpu.md):
// vdpbf16ps 124 -> 133 G multiply-adds/s at batch 32 and 76 -> 80 at 8;
// at batch 8 f32 19.0 -> 20.2 GB/s, f16 12.8 -> 14.0, q8_0 on VNNI
// 7.3 -> 9.5.
inline const std::uint8_t* next_rows(const WeightMatrix& w, int r, int step, int re, int n) {
  return n > kTile && r + 2 * step <= re ? w.row(r + step) : nullptr;
}

// ---- AVX-512 VNNI: q8_0 weights against x quantised to q8_0 per block of
// 32 (llama.cpp's q8_0 x q8_0 product): vpdpbusd sums four int8 products
// into an int32 lane, so a pair of blocks (64 weights) is one instruction
// where the widening path converts and multiplies 64 floats. Each block's
// sum is an exact int32; it is scaled by the weight's and x's block scales
// and accumulated in float32, the blocks in order.
#define PF_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))

// Activation rows quantised, each padded to a whole pair of blocks: per
// pair of blocks its 64 |x| as unsigned bytes, the 64 signs as a mask, and
// 16 scales (the first block's 8 times, then the second's).
struct QuantisedRows {
  int pairs = 0;
  std::vector<std::uint8_t> abs;   // n rows of pairs * 64
  std::vector<std::uint64_t> neg;  // n rows of pairs: bit k set where x_k < 0
  std::vector<float> d;            // n rows of pairs * 16
};

// Vectorised: the engine calls a product once per thread's rows, so each
// call quantises x again (a scalar loop with libm's rounding cost more than
// the product at batch 1).
PF_AVX512VNNI void quantise_q8(const float* x, int n, int C, QuantisedRows* out) {
  const int blocks = C / kQ8Block;
  out->pairs = (blocks + 1) / 2;
  const std::size_t pairs = static_cast<std::size_t>(n) * out->pairs;
  out->abs.resize(pairs * 64);
  out->neg.resize(pairs);
  out->d.resize(pairs * 16);
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < out->pairs; ++p) {
      const std::size_t pair = static_cast<std::size_t>(i) * out->pairs + p;
      std::uint64_t neg = 0;
      for (int h = 0; h < 2; ++h) {
        const int b = 2 * p + h;
        __m512i q0 = _mm512_setzero_si512(), q1 = _mm512_setzero_si512();
        float d = 0;
        if (b < blocks) {  // the second half of an odd last pair stays zero
          const float* xb = x + at(i, C) + b * kQ8Block;
          const __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
          const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
          d = amax / 127.0f;
          const __m512 inv = _mm512_set1_ps(d > 0 ? 1.0f / d : 0.0f);
          // Rounded to nearest, ties to even (the default rounding mode).
          q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, inv));
          q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, inv));
        }
        std::uint8_t* a = out->abs.data() + pair * 64 + h * kQ8Block;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(a), _mm512_cvtepi32_epi8(_mm512_abs_epi32(q0)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(a + 16), _mm512_cvtepi32_epi8(_mm512_abs_epi32(q1)));
        const std::uint64_t m = static_cast<std::uint64_t>(_mm512_movepi32_mask(q0)) |
                                static_cast<std::uint64_t>(_mm512_movepi32_mask(q1)) << 16;
        neg |= m << (h * kQ8Block);
        _mm256_storeu_ps(out->d.data() + pair * 16 + h * 8, _mm256_set1_ps(d));
      }
      out->neg[pair] = neg;
    }
  }
}

// A pair of q8_0 blocks as 64 int8s, and their two scales as 16 lanes;
// asks for the two lines at `fetch` (further down the row, or the rows
// the caller takes next).
PF_AVX512VNNI inline __m512i q8_pair(const std::uint8_t* a, bool two, __m512* dw, const std::uint8_t* fetch) {
  _mm_prefetch(reinterpret_cast<const char*>(fetch), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(fetch) + 64, _MM_HINT_T0);
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 2));
  std::uint16_t ha, hb;
  std::memcpy(&ha, a, 2);
  std::memcpy(&hb, two ? a + kQ8BlockBytes : a, 2);
  *dw = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<short>(ha))),
                                                _mm_set1_epi16(static_cast<short>(hb)), 1));
  if (!two) return _mm512_zextsi256_si512(lo);  // the second half of a row's odd last pair: zeros
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + kQ8BlockBytes + 2)), 1);
}

// MW weight rows against NB quantised activation rows. Per output the same
// operations in the same order whatever NB and MW are.
template <int NB, int MW>
PF_AVX512VNNI void vnni_q8_tile(const std::uint8_t* row0, std::size_t stride, const QuantisedRows& xq, int i0, int C,
                                float* y, int ldy, const std::uint8_t* next = nullptr) {
  __m512 acc[NB][MW];
  PF_UNROLL
  for (int i = 0; i < NB; ++i) {
    PF_UNROLL
    for (int j = 0; j < MW; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  const int blocks = C / kQ8Block;
  for (int p = 0; p < xq.pairs; ++p) {
    const bool two = 2 * p + 1 < blocks;
    __m512i w[MW];
    __m512 dw[MW];
    PF_UNROLL
    for (int j = 0; j < MW; ++j) {
      const std::size_t off = j * stride + static_cast<std::size_t>(2 * p) * kQ8BlockBytes;
      w[j] = q8_pair(row0 + off, two, &dw[j], next ? next + off : row0 + off + kPrefetchAhead);
    }
    PF_UNROLL
    for (int i = 0; i < NB; ++i) {
      const std::size_t pair = static_cast<std::size_t>(i0 + i) * xq.pairs + p;
      const __m512i ax = _mm512_loadu_si512(xq.abs.data() + pair * 64);
      const __mmask64 neg = xq.neg[pair];
      const __m512 dx = _mm512_loadu_ps(xq.d.data() + pair * 16);
      PF_UNROLL
      for (int j = 0; j < MW; ++j) {
        // vpdpbusd takes unsigned x signed: |x| against w with x's sign.
        const __m512i sw = _mm512_mask_sub_epi8(w[j], neg, _mm512_setzero_si512(), w[j]);
        const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, sw);
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[j], dx), acc[i][j]);
      }
    }
  }
  PF_UNROLL
  for (int i = 0; i < NB; ++i) {
    PF_UNROLL
    for (int j = 0; j < MW; ++j) y[at(i, ldy) + j] = _mm512_reduce_add_ps(acc[i][j]);
  }
}

// Past batch 1 two weight rows share each load of the activations; at
// batch 1 four rows from the quarters of the slice.
void vnni_q8_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  thread_local QuantisedRows xq;
  const int C = w.cols;
  quantise_q8(x, n, C, &xq);
  using Tile =
      void (*)(const std::uint8_t*, std::size_t, const QuantisedRows&, int, int, float*, int, const std::uint8_t*);
  static constexpr Tile pairs[kTile] = {vnni_q8_tile<1, 2>, vnni_q8_tile<2, 2>, vnni_q8_tile<3, 2>, vnni_q8_tile<4, 2>};
  static constexpr Tile singles[kTile] = {vnni_q8_tile<1, 1>, vnni_q8_tile<2, 1>, vnni_q8_tile<3, 1>,
                                          vnni_q8_tile<4, 1>};
  const std::size_t stride = weight_row_bytes(WeightType::kQ8_0, C);
  if (n == 1) {
    return batch1_in_quarters(
        rb, re, y,
        [&](int r, int step, float* out) { vnni_q8_tile<1, kQuad>(w.row(r), step * stride, xq, 0, C, out, 0); },
        [&](int r) { singles[0](w.row(r), stride, xq, 0, C, y + r, ldy, nullptr); });
  }
  for (int r = rb; r < re;) {
    const bool two = n > 1 && r + 2 <= re;
    const std::uint8_t* next = two ? next_rows(w, r, 2, re, n) : nullptr;
    for (int i0 = 0; i0 < n; i0 += kTile) {
      const int nb = std::min(kTile, n - i0);
      (two ? pairs : singles)[nb - 1](w.row(r), stride, xq, i0, C, y + at(i0, ldy) + r, ldy, i0 == 0 ? next : nullptr);
    }
    r += two ? 2 : 1;
  }
}

// ---- AVX-512 BF16: bf16 weights against x rounded to bf16, vdpbf16ps.
#define PF_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

template <int NB>
PF_AVX512BF16 void dpbf16_row(const std::uint8_t* row, const std::uint16_t* xb, int C, float* y, int ldy) {
  __m512 acc[NB];
  PF_UNROLL
  for (int i = 0; i < NB; ++i) acc[i] = _mm512_setzero_ps();
  for (int k = 0; k < C; k += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(row) + 2 * static_cast<std::size_t>(k) + kPrefetchAhead, _MM_HINT_T0);
    const int left = C - k;
    const __mmask32 m = left >= 32 ? ~0u : (1u << left) - 1;
    const __m512i wv = _mm512_maskz_loadu_epi16(m, row + 2 * static_cast<std::size_t>(k));
    PF_UNROLL
    for (int i = 0; i < NB; ++i) {
      const __m512i xv = _mm512_maskz_loadu_epi16(m, xb + at(i, C) + k);
      acc[i] = _mm512_dpbf16_ps(acc[i], reinterpret_cast<__m512bh>(xv), reinterpret_cast<__m512bh>(wv));
    }
  }
  PF_UNROLL
  for (int i = 0; i < NB; ++i) y[at(i, ldy)] = _mm512_reduce_add_ps(acc[i]);
}

// dpbf16_row over MW weight rows at once: per output, dpbf16_row's
// operations in its order (the tiling leaves the bits alone). `next` as
// for avx512_tile.
template <int NB, int MW>
PF_AVX512BF16 void dpbf16_tile(const std::uint8_t* row0, std::size_t stride, const std::uint16_t* xb, int C, float* y,
                               int ldy, const std::uint8_t* next = nullptr) {
  __m512 acc[NB][MW];
  PF_UNROLL
  for (int i = 0; i < NB; ++i) {
    PF_UNROLL
    for (int j = 0; j < MW; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  for (int k = 0; k < C; k += 32) {
    const int left = C - k;
    const __mmask32 m = left >= 32 ? ~0u : (1u << left) - 1;
    __m512i wv[MW];
    PF_UNROLL
    for (int j = 0; j < MW; ++j) {
      const std::uint8_t* row = row0 + j * stride;
      _mm_prefetch(next ? reinterpret_cast<const char*>(next + j * stride) + 2 * static_cast<std::size_t>(k)
                        : reinterpret_cast<const char*>(row) + 2 * static_cast<std::size_t>(k) + kPrefetchAhead,
                   _MM_HINT_T0);
      wv[j] = _mm512_maskz_loadu_epi16(m, row + 2 * static_cast<std::size_t>(k));
    }
    PF_UNROLL
    for (int i = 0; i < NB; ++i) {
      const __m512i xv = _mm512_maskz_loadu_epi16(m, xb + at(i, C) + k);
      PF_UNROLL
      for (int j = 0; j < MW; ++j)
        acc[i][j] = _mm512_dpbf16_ps(acc[i][j], reinterpret_cast<__m512bh>(xv), reinterpret_cast<__m512bh>(wv[j]));
    }
  }
  PF_UNROLL
  for (int i = 0; i < NB; ++i) {
    PF_UNROLL
    for (int j = 0; j < MW; ++j) y[at(i, ldy) + j] = _mm512_reduce_add_ps(acc[i][j]);
  }
}

// ---- the tiling common to the sets: each weight row once, kTile activation rows at a time.
using RowFn = void (*)(const std::uint8_t*, const float*, int, float*, int);

template <template <WeightType, int> class Fn, WeightType T>
struct Tiles {
  static constexpr RowFn fns[kTile] = {Fn<T, 1>::call, Fn<T, 2>::call, Fn<T, 3>::call, Fn<T, 4>::call};
};

#define PF_ROW_FN(NAME, FUNC)                                                             \
  template <WeightType T, int NB>                                                         \
  struct NAME {                                                                           \
    static void call(const std::uint8_t* row, const float* x, int C, float* y, int ldy) { \
      FUNC<T, NB>(row, x, C, y, ldy);                                                     \
    }                                                                                     \
  };
PF_ROW_FN(Avx2Row, avx2_row)

template <template <WeightType, int> class Fn, WeightType T>
void tiled_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  const int C = w.cols;
  for (int r = rb; r < re; ++r) {
    const std::uint8_t* row = w.row(r);
    for (int i0 = 0; i0 < n; i0 += kTile) {
      const int nb = std::min(kTile, n - i0);
      Tiles<Fn, T>::fns[nb - 1](row, x + at(i0, C), C, y + at(i0, ldy) + r, ldy);
    }
  }
}

template <template <WeightType, int> class Fn>
void typed_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  switch (w.type) {
    case WeightType::kF32:
      return tiled_rows<Fn, WeightType::kF32>(w, x, n, y, ldy, rb, re);
    case WeightType::kBF16:
      return tiled_rows<Fn, WeightType::kBF16>(w, x, n, y, ldy, rb, re);
    case WeightType::kF16:
      return tiled_rows<Fn, WeightType::kF16>(w, x, n, y, ldy, rb, re);
    case WeightType::kQ8_0:
      return tiled_rows<Fn, WeightType::kQ8_0>(w, x, n, y, ldy, rb, re);
  }
}

// AVX-512: kQuad (above) weight rows at a time against up to kTile
// activation rows, leftover rows one by one.
constexpr int kWide = 6, kWideFrom = 16;

template <WeightType T>
void avx512_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  using Tile = void (*)(const std::uint8_t*, std::size_t, const float*, int, float*, int, const std::uint8_t*);
  static constexpr Tile quads[kTile] = {avx512_tile<T, 1, kQuad>, avx512_tile<T, 2, kQuad>, avx512_tile<T, 3, kQuad>,
                                        avx512_tile<T, 4, kQuad>};
  static constexpr Tile singles[kTile] = {avx512_tile<T, 1, 1>, avx512_tile<T, 2, 1>, avx512_tile<T, 3, 1>,
                                          avx512_tile<T, 4, 1>};
  const int C = w.cols;
  const std::size_t stride = weight_row_bytes(T, C);
  // q8_0 at batch 1 streams fastest one row at a time (measured: four rows
  // in flight read 15-20% slower; the widening, not the memory, bounds it).
  const bool in_fours = !(T == WeightType::kQ8_0 && n == 1);
  if (in_fours && n == 1) {
    return batch1_in_quarters(
        rb, re, y,
        [&](int r, int step, float* out) { avx512_tile<T, 1, kQuad>(w.row(r), step * stride, x, C, out, 0); },
        [&](int r) { singles[0](w.row(r), stride, x, C, y + r, ldy, nullptr); });
  }
  // Past kWideFrom rows (prefill, large batches: arithmetic, not memory,
  // bounds them) kWide activation rows to a tile: 24 accumulators, 10
  // loads per 24 FMAs where a 4 x 4 tile makes 8 per 16.
  const bool wide = n > kWideFrom && T != WeightType::kQ8_0;
  for (int r = rb; r < re;) {
    const bool quad = in_fours && r + kQuad <= re;
    int i0 = 0;
    const std::uint8_t* next = quad ? next_rows(w, r, kQuad, re, n) : nullptr;
    if (quad && wide) {
      for (; i0 + kWide <= n; i0 += kWide)
        avx512_tile<T, kWide, kQuad>(w.row(r), stride, x + at(i0, C), C, y + at(i0, ldy) + r, ldy,
                                     i0 == 0 ? next : nullptr);
    }
    for (; i0 < n; i0 += kTile) {
      const int nb = std::min(kTile, n - i0);
      (quad ? quads : singles)[nb - 1](w.row(r), stride, x + at(i0, C), C, y + at(i0, ldy) + r, ldy,
                                       i0 == 0 ? next : nullptr);
    }
    r += quad ? kQuad : 1;
  }
}

void avx512_typed_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  switch (w.type) {
    case WeightType::kF32:
      return avx512_rows<WeightType::kF32>(w, x, n, y, ldy, rb, re);
    case WeightType::kBF16:
      return avx512_rows<WeightType::kBF16>(w, x, n, y, ldy, rb, re);
    case WeightType::kF16:
      return avx512_rows<WeightType::kF16>(w, x, n, y, ldy, rb, re);
    case WeightType::kQ8_0:
      return avx512_rows<WeightType::kQ8_0>(w, x, n, y, ldy, rb, re);
  }
}

// vdpbf16ps: the same tiling, four weight rows at a time (from the quarters
// of the slice at batch 1).

void dpbf16_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int rb, int re) {
  thread_local std::vector<std::uint16_t> xb;
  const int C = w.cols;
  xb.resize(at(n, C));
  floats_to_bf16(x, xb.size(), xb.data());
  static constexpr void (*rows[kTile])(const std::uint8_t*, const std::uint16_t*, int, float*, int) = {
      dpbf16_row<1>, dpbf16_row<2>, dpbf16_row<3>, dpbf16_row<4>};
  static constexpr void (*tiles[kTile])(const std::uint8_t*, std::size_t, const std::uint16_t*, int, float*, int,
                                        const std::uint8_t*) = {dpbf16_tile<1, kQuad>, dpbf16_tile<2, kQuad>,
                                                                dpbf16_tile<3, kQuad>, dpbf16_tile<4, kQuad>};
  const std::size_t stride = weight_row_bytes(WeightType::kBF16, C);
  if (n == 1) {
    return batch1_in_quarters(
        rb, re, y,
        [&](int r, int step, float* out) { dpbf16_tile<1, kQuad>(w.row(r), step * stride, xb.data(), C, out, 0); },
        [&](int r) { rows[0](w.row(r), xb.data(), C, y + r, ldy); });
  }
  int r = rb;
  for (; r + kQuad <= re; r += kQuad) {
    const std::uint8_t* next = next_rows(w, r, kQuad, re, n);
    for (int i0 = 0; i0 < n; i0 += kTile) {
      const int nb = std::min(kTile, n - i0);
      tiles[nb - 1](w.row(r), stride, xb.data() + at(i0, C), C, y + at(i0, ldy) + r, ldy, i0 == 0 ? next : nullptr);
    }
  }
  for (; r < re; ++r) {
    const std::uint8_t* row = w.row(r);
    for (int i0 = 0; i0 < n; i0 += kTile) {
      const int nb = std::min(kTile, n - i0);
      rows[nb - 1](row, xb.data() + at(i0, C), C, y + at(i0, ldy) + r, ldy);
    }
  }
}

template <WeightType T>
void widen_typed(const WeightMatrix& w, int rb, int re, float* out, CpuIsa isa) {
  for (int r = rb; r < re; ++r) {
    float* o = out + at(r - rb, w.cols);
    if (is_avx512(isa)) {
      avx512_widen<T>(w.row(r), w.cols, o);
    } else if (isa == CpuIsa::kAvx2) {
      avx2_widen<T>(w.row(r), w.cols, o);
    } else {
      decode_row(w, r, o);
    }
  }
}

}  // namespace

void widen_rows(const WeightMatrix& w, int row_begin, int row_end, float* out, CpuIsa isa) {
  switch (w.type) {
    case WeightType::kF32:
      std::memcpy(out, w.row(row_begin), static_cast<std::size_t>(row_end - row_begin) * w.cols * sizeof(float));
      return;
    case WeightType::kBF16:
      return widen_typed<WeightType::kBF16>(w, row_begin, row_end, out, isa);
    case WeightType::kF16:
      return widen_typed<WeightType::kF16>(w, row_begin, row_end, out, isa);
    case WeightType::kQ8_0:
      return widen_typed<WeightType::kQ8_0>(w, row_begin, row_end, out, isa);
  }
}

void matmul_rows(const WeightMatrix& w, const float* x, int n, float* y, int ldy, int row_begin, int row_end,
                 CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kPortable:
      return portable_rows(w, x, n, y, ldy, row_begin, row_end);
    case CpuIsa::kAvx2:
      return typed_rows<Avx2Row>(w, x, n, y, ldy, row_begin, row_end);
    case CpuIsa::kAvx512Vnni:
      if (w.type == WeightType::kQ8_0) return vnni_q8_rows(w, x, n, y, ldy, row_begin, row_end);
      return avx512_typed_rows(w, x, n, y, ldy, row_begin, row_end);
    case CpuIsa::kAvx512Bf16:
      if (w.type == WeightType::kBF16) return dpbf16_rows(w, x, n, y, ldy, row_begin, row_end);
      [[fallthrough]];
    case CpuIsa::kAvx512:
      return avx512_typed_rows(w, x, n, y, ldy, row_begin, row_end);
  }
}

}  // namespace plotforge::kernels
