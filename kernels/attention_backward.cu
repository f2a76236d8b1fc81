// Fused attention backward, FlashAttention-2 style, deterministic.
//
// The forward saved only O and the per-row log-sum-exp; the backward
// recomputes the scores tile by tile instead of storing P (T x T):
//
//   P  = exp(scale * Q K^T - lse)      dV = P^T dO
//   dP = dO V^T                        dS = P * (dP - delta),  delta = rowsum(dO * O)
//   dQ = scale * dS K                  dK = scale * dS^T Q
//
// Three launches, none of them atomic, so the result does not depend on
// scheduling (deterministic by default, unlike FA2's atomic dQ):
//   1. delta: one warp per query row.
//   2. dK, dV: one CTA per 64-key tile of one (batch, kv_head). It walks the
//      query tiles of every query head in the kv_head's group, so GQA's sum
//      over the group stays in registers. Each warp owns 16 keys; S^T and
//      dP^T are computed key-major so that P^T and dS^T come out of the MMA
//      accumulators already in the A-fragment layout of the next MMA (the
//      trick the forward uses for P V).
//   3. dQ: one CTA per 64-query tile of one (batch, head), walking the key
//      tiles, like the forward.
// Kernels 2 and 3 both recompute S and dP: 2 extra T x T x D matmuls in
// exchange for no atomics and no T x T storage.
//
// Not yet here: wgmma/TMA on Hopper, double-buffered tiles, a single fused
// kernel with a dQ accumulator in fp32 (FA2's default, faster and not
// deterministic). Written against the same fragment layouts as
// attention_forward.cu; it has not yet run on a GPU (docs/perf/).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/mma.cuh"

namespace plotforge::kernels {

namespace {

constexpr int kBlock = 64;  // query rows or keys per tile
constexpr int kWarps = 4;
constexpr int kPad = 8;  // 16 bytes of row padding in shared memory
constexpr float kLog2e = 1.4426950408889634f;

// delta[row] = sum_d dO[row, d] * O[row, d], fp32.
template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    attention_delta_kernel(const T* __restrict__ o, const T* __restrict__ d_o, float* __restrict__ delta, long rows) {
  const long row = static_cast<long>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x % 32;
  float acc = 0.f;
#pragma unroll
  for (int d = lane; d < D; d += 32) acc += to_float(o[row * D + d]) * to_float(d_o[row * D + d]);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  if (lane == 0) delta[row] = acc;
}

// A-fragment (m16k16) of rows r0 .. r0+15 of a row-major tile in shared
// memory, columns c0 .. c0+15.
template <typename T, int Stride>
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const T* tile, int r0, int c0, int gid, int tid4) {
  const T* p0 = tile + (r0 + gid) * Stride + c0 + tid4 * 2;
  const T* p1 = p0 + 8 * Stride;
  a[0] = *reinterpret_cast<const uint32_t*>(p0);
  a[1] = *reinterpret_cast<const uint32_t*>(p1);
  a[2] = *reinterpret_cast<const uint32_t*>(p0 + 8);
  a[3] = *reinterpret_cast<const uint32_t*>(p1 + 8);
}

// C[16 x 64] = A[16 x D] * Tile^T, where A's fragments come from `a_tile`
// rows r0.. and Tile is a [64][D] row-major tile (its rows are C's columns).
template <typename T, int D, int Stride>
__device__ __forceinline__ void mma_abt(float (&c)[kBlock / 8][4], const T* a_tile, int r0, const T* b_tile, int gid,
                                        int tid4) {
#pragma unroll
  for (int nt = 0; nt < kBlock / 8; ++nt) c[nt][0] = c[nt][1] = c[nt][2] = c[nt][3] = 0.f;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t a[4];
    load_a<T, Stride>(a, a_tile, r0, kk * 16, gid, tid4);
#pragma unroll
    for (int nt = 0; nt < kBlock / 8; ++nt) {
      const T* br = b_tile + (nt * 8 + gid) * Stride + kk * 16 + tid4 * 2;
      mma_m16n8k16<T>(c[nt], a, *reinterpret_cast<const uint32_t*>(br), *reinterpret_cast<const uint32_t*>(br + 8));
    }
  }
}

// acc[16 x D] += X[16 x 64] * Tile, where X is held in m16n8 accumulators
// (reused as A fragments) and Tile is a [64][D] row-major tile.
template <typename T, int D, int Stride>
__device__ __forceinline__ void mma_xb(float (&acc)[D / 8][4], const float (&x)[kBlock / 8][4], const T* b_tile,
                                       int gid, int tid4) {
#pragma unroll
  for (int kc = 0; kc < kBlock / 16; ++kc) {
    uint32_t a[4];
    a[0] = pack2<T>(x[2 * kc][0], x[2 * kc][1]);
    a[1] = pack2<T>(x[2 * kc][2], x[2 * kc][3]);
    a[2] = pack2<T>(x[2 * kc + 1][0], x[2 * kc + 1][1]);
    a[3] = pack2<T>(x[2 * kc + 1][2], x[2 * kc + 1][3]);
    const int kr = kc * 16 + tid4 * 2;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      const int c = dt * 8 + gid;
      const uint32_t b0 = pack_raw<T>(b_tile[kr * Stride + c], b_tile[(kr + 1) * Stride + c]);
      const uint32_t b1 = pack_raw<T>(b_tile[(kr + 8) * Stride + c], b_tile[(kr + 9) * Stride + c]);
      mma_m16n8k16<T>(acc[dt], a, b0, b1);
    }
  }
}

// Copies rows [row0, row0 + 64) of a [rows][D] matrix into a padded tile,
// zero past `rows`.
template <typename T, int D>
__device__ __forceinline__ void stage(T* tile, const T* src, int row0, int rows) {
  constexpr int kVecPerRow = D / 8;
  for (int i = threadIdx.x; i < kBlock * kVecPerRow; i += kWarps * 32) {
    const int r = i / kVecPerRow, c = (i % kVecPerRow) * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row0 + r < rows) val = *reinterpret_cast<const uint4*>(src + static_cast<size_t>(row0 + r) * D + c);
    *reinterpret_cast<uint4*>(tile + r * (D + kPad) + c) = val;
  }
}

template <typename T, int D>
constexpr int dkdv_smem_bytes() {
  return 4 * kBlock * (D + kPad) * static_cast<int>(sizeof(T)) + 2 * kBlock * static_cast<int>(sizeof(float));
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    attention_dkdv_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                          const T* __restrict__ d_o, const float* __restrict__ lse, const float* __restrict__ delta,
                          T* __restrict__ dk, T* __restrict__ dv, AttentionShape s, float scale) {
  constexpr int S = D + kPad;
  extern __shared__ __align__(16) unsigned char smem[];
  T* k_tile = reinterpret_cast<T*>(smem);
  T* v_tile = k_tile + kBlock * S;
  T* q_tile = v_tile + kBlock * S;
  T* do_tile = q_tile + kBlock * S;
  float* lse_tile = reinterpret_cast<float*>(do_tile + kBlock * S);  // lse * log2(e); +inf for no row
  float* delta_tile = lse_tile + kBlock;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int gid = lane / 4, tid4 = lane % 4;
  const int b = blockIdx.z, kvh = blockIdx.y, key0 = blockIdx.x * kBlock;
  const int group = s.heads / s.kv_heads;
  const int shift = s.kv_len - s.q_len;  // causal: query i sees keys <= i + shift
  const size_t kv_off = (static_cast<size_t>(b) * s.kv_heads + kvh) * s.kv_len * D;
  stage<T, D>(k_tile, k + kv_off, key0, s.kv_len);
  stage<T, D>(v_tile, v + kv_off, key0, s.kv_len);

  float dk_acc[D / 8][4], dv_acc[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) {
    dk_acc[i][0] = dk_acc[i][1] = dk_acc[i][2] = dk_acc[i][3] = 0.f;
    dv_acc[i][0] = dv_acc[i][1] = dv_acc[i][2] = dv_acc[i][3] = 0.f;
  }
  const int key_a = key0 + warp * 16 + gid, key_b = key_a + 8;  // this thread's two key rows
  const float scale_log2 = scale * kLog2e;
  // The first query that sees key0 is key0 - shift.
  const int first_tile = s.causal ? max(0, (key0 - shift) / kBlock) : 0;
  const int n_q_tiles = (s.q_len + kBlock - 1) / kBlock;

  for (int hq = kvh * group; hq < (kvh + 1) * group; ++hq) {
    const size_t row_base = (static_cast<size_t>(b) * s.heads + hq) * s.q_len;
    for (int qt = first_tile; qt < n_q_tiles; ++qt) {
      const int q0 = qt * kBlock;
      __syncthreads();  // the previous tile is no longer read
      stage<T, D>(q_tile, q + row_base * D, q0, s.q_len);
      stage<T, D>(do_tile, d_o + row_base * D, q0, s.q_len);
      for (int i = threadIdx.x; i < kBlock; i += kWarps * 32) {
        const bool row_ok = q0 + i < s.q_len && lse[row_base + q0 + i] != -INFINITY;
        lse_tile[i] = row_ok ? lse[row_base + q0 + i] * kLog2e : INFINITY;
        delta_tile[i] = row_ok ? delta[row_base + q0 + i] : 0.f;
      }
      __syncthreads();

      // P^T [this warp's 16 keys x 64 queries].
      float pt[kBlock / 8][4];
      mma_abt<T, D, S>(pt, k_tile, warp * 16, q_tile, gid, tid4);
#pragma unroll
      for (int nt = 0; nt < kBlock / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = e < 2 ? key_a : key_b;
          const int qi = nt * 8 + tid4 * 2 + (e & 1);
          const bool ok = key < s.kv_len && q0 + qi < s.q_len && (!s.causal || key <= q0 + qi + shift);
          pt[nt][e] = ok ? exp2f(pt[nt][e] * scale_log2 - lse_tile[qi]) : 0.f;
        }
      }
      mma_xb<T, D, S>(dv_acc, pt, do_tile, gid, tid4);  // dV += P^T dO

      // dS^T = P^T * (dP^T - delta), dP^T = V dO^T.
      float dst[kBlock / 8][4];
      mma_abt<T, D, S>(dst, v_tile, warp * 16, do_tile, gid, tid4);
#pragma unroll
      for (int nt = 0; nt < kBlock / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) dst[nt][e] = pt[nt][e] * (dst[nt][e] - delta_tile[nt * 8 + tid4 * 2 + (e & 1)]);
      }
      mma_xb<T, D, S>(dk_acc, dst, q_tile, gid, tid4);  // dK += dS^T Q (scaled below)
    }
  }

  T* dkh = dk + kv_off;
  T* dvh = dv + kv_off;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    const int c = dt * 8 + tid4 * 2;
    if (key_a < s.kv_len) {
      *reinterpret_cast<uint32_t*>(dkh + static_cast<size_t>(key_a) * D + c) =
          pack2<T>(dk_acc[dt][0] * scale, dk_acc[dt][1] * scale);
      *reinterpret_cast<uint32_t*>(dvh + static_cast<size_t>(key_a) * D + c) = pack2<T>(dv_acc[dt][0], dv_acc[dt][1]);
    }
    if (key_b < s.kv_len) {
      *reinterpret_cast<uint32_t*>(dkh + static_cast<size_t>(key_b) * D + c) =
          pack2<T>(dk_acc[dt][2] * scale, dk_acc[dt][3] * scale);
      *reinterpret_cast<uint32_t*>(dvh + static_cast<size_t>(key_b) * D + c) = pack2<T>(dv_acc[dt][2], dv_acc[dt][3]);
    }
  }
}

template <typename T, int D>
constexpr int dq_smem_bytes() {
  return 4 * kBlock * (D + kPad) * static_cast<int>(sizeof(T));
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    attention_dq_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                        const T* __restrict__ d_o, const float* __restrict__ lse, const float* __restrict__ delta,
                        T* __restrict__ dq, AttentionShape s, float scale) {
  constexpr int S = D + kPad;
  extern __shared__ __align__(16) unsigned char smem[];
  T* q_tile = reinterpret_cast<T*>(smem);
  T* do_tile = q_tile + kBlock * S;
  T* k_tile = do_tile + kBlock * S;
  T* v_tile = k_tile + kBlock * S;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int gid = lane / 4, tid4 = lane % 4;
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kBlock;
  const int kvh = h / (s.heads / s.kv_heads);
  const int shift = s.kv_len - s.q_len;
  const size_t row_base = (static_cast<size_t>(b) * s.heads + h) * s.q_len;
  const size_t kv_off = (static_cast<size_t>(b) * s.kv_heads + kvh) * s.kv_len * D;
  stage<T, D>(q_tile, q + row_base * D, q0, s.q_len);
  stage<T, D>(do_tile, d_o + row_base * D, q0, s.q_len);

  const int row_a = q0 + warp * 16 + gid, row_b = row_a + 8;
  float lse2[2], dlt[2];
  {
    const int rows[2] = {row_a, row_b};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const bool ok = rows[r] < s.q_len && lse[row_base + rows[r]] != -INFINITY;
      lse2[r] = ok ? lse[row_base + rows[r]] * kLog2e : INFINITY;
      dlt[r] = ok ? delta[row_base + rows[r]] : 0.f;
    }
  }
  float dq_acc[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) dq_acc[i][0] = dq_acc[i][1] = dq_acc[i][2] = dq_acc[i][3] = 0.f;
  const float scale_log2 = scale * kLog2e;
  int kv_end = s.kv_len;
  if (s.causal) kv_end = min(kv_end, q0 + kBlock - 1 + shift + 1);
  const int n_tiles = kv_end > 0 ? (kv_end + kBlock - 1) / kBlock : 0;

  for (int tile = 0; tile < n_tiles; ++tile) {
    const int key0 = tile * kBlock;
    __syncthreads();
    stage<T, D>(k_tile, k + kv_off, key0, s.kv_len);
    stage<T, D>(v_tile, v + kv_off, key0, s.kv_len);
    __syncthreads();

    float p[kBlock / 8][4];
    mma_abt<T, D, S>(p, q_tile, warp * 16, k_tile, gid, tid4);  // S = Q K^T
#pragma unroll
    for (int nt = 0; nt < kBlock / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = e < 2 ? row_a : row_b;
        const int key = key0 + nt * 8 + tid4 * 2 + (e & 1);
        const bool ok = key < s.kv_len && row < s.q_len && (!s.causal || key <= row + shift);
        p[nt][e] = ok ? exp2f(p[nt][e] * scale_log2 - lse2[e / 2]) : 0.f;
      }
    }
    float ds[kBlock / 8][4];
    mma_abt<T, D, S>(ds, do_tile, warp * 16, v_tile, gid, tid4);  // dP = dO V^T
#pragma unroll
    for (int nt = 0; nt < kBlock / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) ds[nt][e] = p[nt][e] * (ds[nt][e] - dlt[e / 2]);
    }
    mma_xb<T, D, S>(dq_acc, ds, k_tile, gid, tid4);  // dQ += dS K (scaled below)
  }

  T* dqh = dq + row_base * D;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    const int c = dt * 8 + tid4 * 2;
    if (row_a < s.q_len) {
      *reinterpret_cast<uint32_t*>(dqh + static_cast<size_t>(row_a) * D + c) =
          pack2<T>(dq_acc[dt][0] * scale, dq_acc[dt][1] * scale);
    }
    if (row_b < s.q_len) {
      *reinterpret_cast<uint32_t*>(dqh + static_cast<size_t>(row_b) * D + c) =
          pack2<T>(dq_acc[dt][2] * scale, dq_acc[dt][3] * scale);
    }
  }
}

template <typename T, int D>
cudaError_t launch(const void* q, const void* k, const void* v, const void* o, const void* d_o, const float* lse,
                   void* dq, void* dk, void* dv, float* delta, const AttentionShape& s, cudaStream_t stream) {
  const float scale = s.scale > 0.f ? s.scale : 1.f / sqrtf(static_cast<float>(D));
  const long rows = static_cast<long>(s.batch) * s.heads * s.q_len;
  attention_delta_kernel<T, D><<<static_cast<unsigned>((rows + kWarps - 1) / kWarps), kWarps * 32, 0, stream>>>(
      static_cast<const T*>(o), static_cast<const T*>(d_o), delta, rows);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;

  constexpr int dkdv_bytes = dkdv_smem_bytes<T, D>();
  if (cudaError_t e =
          cudaFuncSetAttribute(attention_dkdv_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, dkdv_bytes);
      e != cudaSuccess) {
    return e;
  }
  const dim3 kv_grid((s.kv_len + kBlock - 1) / kBlock, s.kv_heads, s.batch);
  attention_dkdv_kernel<T, D><<<kv_grid, kWarps * 32, dkdv_bytes, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(d_o), lse,
      delta, static_cast<T*>(dk), static_cast<T*>(dv), s, scale);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;

  constexpr int dq_bytes = dq_smem_bytes<T, D>();
  if (cudaError_t e =
          cudaFuncSetAttribute(attention_dq_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, dq_bytes);
      e != cudaSuccess) {
    return e;
  }
  const dim3 q_grid((s.q_len + kBlock - 1) / kBlock, s.heads, s.batch);
  attention_dq_kernel<T, D><<<q_grid, kWarps * 32, dq_bytes, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(d_o), lse,
      delta, static_cast<T*>(dq), s, scale);
  return cudaGetLastError();
}

}  // namespace

std::size_t attention_backward_workspace_bytes(const AttentionShape& s) {
  return static_cast<std::size_t>(s.batch) * s.heads * s.q_len * sizeof(float);
}

cudaError_t attention_backward(const void* q, const void* k, const void* v, const void* o, const void* d_o,
                               const float* lse, void* dq, void* dk, void* dv, void* workspace, const AttentionShape& s,
                               DType dtype, cudaStream_t stream) {
  if (!attention_shape_supported(s) || !half_dtype(dtype)) return cudaErrorInvalidValue;
  float* delta = static_cast<float*>(workspace);
  if (s.head_dim == 64) {
    return dtype == DType::kBF16 ? launch<__nv_bfloat16, 64>(q, k, v, o, d_o, lse, dq, dk, dv, delta, s, stream)
                                 : launch<__half, 64>(q, k, v, o, d_o, lse, dq, dk, dv, delta, s, stream);
  }
  return dtype == DType::kBF16 ? launch<__nv_bfloat16, 128>(q, k, v, o, d_o, lse, dq, dk, dv, delta, s, stream)
                               : launch<__half, 128>(q, k, v, o, d_o, lse, dq, dk, dv, delta, s, stream);
}

}  // namespace plotforge::kernels
