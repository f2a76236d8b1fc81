// Fused attention forward, FlashAttention-2 style, on mma.sync tensor cores.
//
// One CTA of 4 warps owns 64 query rows of one (batch, head); each warp owns
// 16 rows. Q lives in registers as mma A-fragments for the whole kernel. K/V
// tiles of 64 keys are staged in shared memory; S = Q K^T is computed by
// m16n8k16 MMAs into registers, masked, pushed through an online softmax
// (running max m and sum l per row, in base 2), and the probabilities P are
// reused straight from the S accumulators as the A operand of O += P V: the
// m16n8 C layout of two adjacent n-tiles is exactly the m16k16 A layout. The
// score matrix never leaves registers.
//
// Not yet here (and the reason it trails cuDNN/FA3 on Hopper): wgmma, TMA
// and warp specialization; K/V loads are not double-buffered.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/mma.cuh"

namespace plotforge::kernels {

namespace {

constexpr int kBlockM = 64;  // query rows per CTA
constexpr int kBlockN = 64;  // keys per tile
constexpr int kWarps = 4;
constexpr int kPad = 8;  // elements of row padding in shared memory (16 bytes)

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    attention_forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                             T* __restrict__ o, float* __restrict__ lse, AttentionShape s, float scale_log2) {
  __shared__ __align__(16) T k_tile[kBlockN][D + kPad];
  __shared__ __align__(16) T v_tile[kBlockN][D + kPad];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int gid = lane / 4, tid4 = lane % 4;
  const int b = blockIdx.z, h = blockIdx.y;
  const int kvh = h / (s.heads / s.kv_heads);
  const int row0 = blockIdx.x * kBlockM + warp * 16 + gid;  // this thread's rows: row0, row0 + 8
  const int row1 = row0 + 8;
  const T* qh = q + (static_cast<size_t>(b) * s.heads + h) * s.q_len * D;
  const T* kh = k + (static_cast<size_t>(b) * s.kv_heads + kvh) * s.kv_len * D;
  const T* vh = v + (static_cast<size_t>(b) * s.kv_heads + kvh) * s.kv_len * D;

  // Q fragments for all D/16 k-steps.
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const int c = kk * 16 + tid4 * 2;
    qf[kk][0] = row0 < s.q_len ? *reinterpret_cast<const uint32_t*>(qh + static_cast<size_t>(row0) * D + c) : 0u;
    qf[kk][1] = row1 < s.q_len ? *reinterpret_cast<const uint32_t*>(qh + static_cast<size_t>(row1) * D + c) : 0u;
    qf[kk][2] = row0 < s.q_len ? *reinterpret_cast<const uint32_t*>(qh + static_cast<size_t>(row0) * D + c + 8) : 0u;
    qf[kk][3] = row1 < s.q_len ? *reinterpret_cast<const uint32_t*>(qh + static_cast<size_t>(row1) * D + c + 8) : 0u;
  }

  float acc[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY};
  float l[2] = {0.f, 0.f};

  const int shift = s.kv_len - s.q_len;  // causal: row i sees keys <= i + shift
  int kv_end = s.kv_len;
  if (s.causal) kv_end = min(kv_end, static_cast<int>(blockIdx.x) * kBlockM + kBlockM - 1 + shift + 1);
  const int n_tiles = kv_end > 0 ? (kv_end + kBlockN - 1) / kBlockN : 0;

  for (int tile = 0; tile < n_tiles; ++tile) {
    const int key0 = tile * kBlockN;
    // Stage K and V: 16-byte vectors, zero past the end.
    constexpr int kVecPerRow = D / 8;
    for (int i = threadIdx.x; i < kBlockN * kVecPerRow; i += kWarps * 32) {
      const int r = i / kVecPerRow, c = (i % kVecPerRow) * 8;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (key0 + r < s.kv_len) {
        kv = *reinterpret_cast<const uint4*>(kh + static_cast<size_t>(key0 + r) * D + c);
        vv = *reinterpret_cast<const uint4*>(vh + static_cast<size_t>(key0 + r) * D + c);
      }
      *reinterpret_cast<uint4*>(&k_tile[r][c]) = kv;
      *reinterpret_cast<uint4*>(&v_tile[r][c]) = vv;
    }
    __syncthreads();

    // S = Q K^T for this warp's 16 rows and the tile's 64 keys.
    float sc[kBlockN / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
      sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const T* kr = &k_tile[nt * 8 + gid][kk * 16 + tid4 * 2];
        const uint32_t b0 = *reinterpret_cast<const uint32_t*>(kr);
        const uint32_t b1 = *reinterpret_cast<const uint32_t*>(kr + 8);
        mma_m16n8k16<T>(sc[nt], qf[kk], b0, b1);
      }
    }

    // Scale into base 2, mask, and find the tile's row maxima.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = e < 2 ? row0 : row1;
        const int col = key0 + nt * 8 + tid4 * 2 + (e & 1);
        const bool ok = col < s.kv_len && (!s.causal || col <= row + shift);
        sc[nt][e] = ok ? sc[nt][e] * scale_log2 : -INFINITY;
        tile_max[e / 2] = fmaxf(tile_max[e / 2], sc[nt][e]);
      }
    }
    float alpha[2], base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float m_new = fmaxf(m[r], tile_max[r]);
      base[r] = m_new == -INFINITY ? 0.f : m_new;  // a fully masked row so far: avoid inf - inf
      alpha[r] = exp2f(m[r] - base[r]);
      m[r] = m_new;
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[nt][e] = exp2f(sc[nt][e] - base[e / 2]);
        l[e / 2] += sc[nt][e];
      }
    }
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      acc[dt][0] *= alpha[0];
      acc[dt][1] *= alpha[0];
      acc[dt][2] *= alpha[1];
      acc[dt][3] *= alpha[1];
    }

    // O += P V, with P taken from the S accumulators as A fragments.
#pragma unroll
    for (int kc = 0; kc < kBlockN / 16; ++kc) {
      uint32_t pf[4];
      pf[0] = pack2<T>(sc[2 * kc][0], sc[2 * kc][1]);
      pf[1] = pack2<T>(sc[2 * kc][2], sc[2 * kc][3]);
      pf[2] = pack2<T>(sc[2 * kc + 1][0], sc[2 * kc + 1][1]);
      pf[3] = pack2<T>(sc[2 * kc + 1][2], sc[2 * kc + 1][3]);
      const int kr = kc * 16 + tid4 * 2;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const int c = dt * 8 + gid;
        const uint32_t b0 = pack_raw<T>(v_tile[kr][c], v_tile[kr + 1][c]);
        const uint32_t b1 = pack_raw<T>(v_tile[kr + 8][c], v_tile[kr + 9][c]);
        mma_m16n8k16<T>(acc[dt], pf, b0, b1);
      }
    }
    __syncthreads();
  }

  // Row sums are split across the 4 threads of a quad.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
  const float inv0 = l[0] > 0.f ? 1.f / l[0] : 0.f, inv1 = l[1] > 0.f ? 1.f / l[1] : 0.f;
  T* oh = o + (static_cast<size_t>(b) * s.heads + h) * s.q_len * D;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    const int c = dt * 8 + tid4 * 2;
    if (row0 < s.q_len) {
      *reinterpret_cast<uint32_t*>(oh + static_cast<size_t>(row0) * D + c) =
          pack2<T>(acc[dt][0] * inv0, acc[dt][1] * inv0);
    }
    if (row1 < s.q_len) {
      *reinterpret_cast<uint32_t*>(oh + static_cast<size_t>(row1) * D + c) =
          pack2<T>(acc[dt][2] * inv1, acc[dt][3] * inv1);
    }
  }
  if (lse != nullptr && tid4 == 0) {
    float* lh = lse + (static_cast<size_t>(b) * s.heads + h) * s.q_len;
    constexpr float kLn2 = 0.6931471805599453f;
    if (row0 < s.q_len) lh[row0] = l[0] > 0.f ? (m[0] + log2f(l[0])) * kLn2 : -INFINITY;
    if (row1 < s.q_len) lh[row1] = l[1] > 0.f ? (m[1] + log2f(l[1])) * kLn2 : -INFINITY;
  }
}

template <typename T, int D>
cudaError_t launch(const void* q, const void* k, const void* v, void* o, float* lse, const AttentionShape& s,
                   cudaStream_t stream) {
  const float scale = s.scale > 0.f ? s.scale : 1.f / sqrtf(static_cast<float>(D));
  const dim3 grid((s.q_len + kBlockM - 1) / kBlockM, s.heads, s.batch);
  attention_forward_kernel<T, D><<<grid, kWarps * 32, 0, stream>>>(static_cast<const T*>(q), static_cast<const T*>(k),
                                                                   static_cast<const T*>(v), static_cast<T*>(o), lse, s,
                                                                   scale * 1.4426950408889634f);
  return cudaGetLastError();
}

}  // namespace

cudaError_t attention_forward(const void* q, const void* k, const void* v, void* o, float* lse, const AttentionShape& s,
                              DType dtype, cudaStream_t stream) {
  if (!attention_shape_supported(s) || !half_dtype(dtype)) return cudaErrorInvalidValue;
  if (s.head_dim == 64) {
    return dtype == DType::kBF16 ? launch<__nv_bfloat16, 64>(q, k, v, o, lse, s, stream)
                                 : launch<__half, 64>(q, k, v, o, lse, s, stream);
  }
  return dtype == DType::kBF16 ? launch<__nv_bfloat16, 128>(q, k, v, o, lse, s, stream)
                               : launch<__half, 128>(q, k, v, o, lse, s, stream);
}

}  // namespace plotforge::kernels
