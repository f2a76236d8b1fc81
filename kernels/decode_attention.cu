// Paged decode attention with flash-decoding.
//
// Decode is memory-bound: every step reads each sequence's whole K/V cache
// once, so the kernel is built around reading it once, wide. A CTA handles
// one (sequence, KV head, partition of kPartition tokens) and every query
// head of that KV head's group (up to kMaxGroup; larger groups take
// several CTAs): each K and V row is loaded once for the whole group, not
// once per query head (with GQA's groups of 4 that was 4x the bytes).
// Rows are read 16 bytes a lane: a team of D/8 lanes takes one token (8
// elements a lane), a warp 32/(D/8) tokens at a time. Scores go to shared
// memory, then the same teams accumulate P V for their tokens and the
// partial outputs are summed across teams and warps. Partial (max, sum,
// acc) per query head go to the workspace, and a second kernel combines
// the partitions. Splitting keeps all SMs busy when there are few
// sequences but long contexts.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "kernels/attention.h"
#include "kernels/mma.cuh"

namespace plotforge::kernels {

namespace {

constexpr int kPartition = 512;  // tokens per CTA
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxGroup = 8;  // query heads per CTA

int partitions(const PagedDecodeShape& s) { return (s.max_seq_len + kPartition - 1) / kPartition; }
// CTAs per KV head: its group's query heads in chunks of up to kMaxGroup.
int group_chunks(const PagedDecodeShape& s) {
  const int group = s.heads / s.kv_heads;
  return (group + kMaxGroup - 1) / kMaxGroup;
}

// Eight consecutive elements (16 bytes, 16-byte aligned) as floats.
template <typename T>
__device__ __forceinline__ void load8(const T* p, float (&f)[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) f[i] = to_float<T>(e[i]);
}

// GM: the most query heads this instantiation keeps in registers (1, 2, 4
// or 8); the CTA's own count gc <= GM is a run-time guard, so every
// register array is indexed by unrolled constants only.
template <typename T, int D, int GM>
__global__ void __launch_bounds__(kThreads)
    decode_partition_kernel(const T* __restrict__ q, const T* __restrict__ k_cache, const T* __restrict__ v_cache,
                            const int* __restrict__ block_table, const int* __restrict__ seq_lens,
                            float* __restrict__ part_max, float* __restrict__ part_sum, float* __restrict__ part_acc,
                            PagedDecodeShape s, float scale) {
  constexpr int kLanes = D / 8;             // lanes per token (8 or 16)
  constexpr int kTeams = 32 / kLanes;       // tokens per warp at a time
  constexpr int kStride = kWarps * kTeams;  // tokens per CTA at a time
  __shared__ float scores[GM][kPartition];
  __shared__ float red[GM][kWarps];
  __shared__ float acc_red[kWarps][GM][D];
  const int n = blockIdx.x, part = blockIdx.z, n_parts = gridDim.z;
  const int chunks = gridDim.y / s.kv_heads;
  const int kvh = blockIdx.y / chunks, group = s.heads / s.kv_heads;
  const int g0 = (blockIdx.y % chunks) * kMaxGroup, gc = min(GM, group - g0);
  const int h0 = kvh * group + g0;  // the CTA's first query head
  const int len = seq_lens[n];
  const int t0 = part * kPartition, t1 = min(len, t0 + kPartition);
  auto slot = [&](int g) { return (static_cast<size_t>(n) * s.heads + h0 + g) * n_parts + part; };
  if (t0 >= t1) {
    for (int g = 0; g < gc; ++g) {
      if (threadIdx.x == 0) {
        part_max[slot(g)] = -INFINITY;
        part_sum[slot(g)] = 0.f;
      }
      for (int d = threadIdx.x; d < D; d += kThreads) part_acc[slot(g) * D + d] = 0.f;
    }
    return;
  }
  const int* table = block_table + static_cast<size_t>(n) * s.max_blocks_per_seq;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int team = lane / kLanes, tl = lane % kLanes;  // tl: which 8 elements of a row
  auto row = [&](const T* cache, int t) {
    const int block = table[t / s.block_size];
    return cache + ((static_cast<size_t>(block) * s.kv_heads + kvh) * s.block_size + t % s.block_size) * D + tl * 8;
  };

  // Scores: each team's token against the group's queries (scaled).
  float qv[GM][8];
#pragma unroll
  for (int g = 0; g < GM; ++g) {
    if (g < gc) {
      load8(q + (static_cast<size_t>(n) * s.heads + h0 + g) * D + tl * 8, qv[g]);
#pragma unroll
      for (int i = 0; i < 8; ++i) qv[g][i] *= scale;
    }
  }
  float local_max[GM];
#pragma unroll
  for (int g = 0; g < GM; ++g) local_max[g] = -INFINITY;
    // The loop runs the same count on every lane of a warp (the shuffles
    // need all 32); a team past the partition's end computes nothing real.
#pragma unroll 2
  for (int base = t0 + warp * kTeams; base < t1; base += kStride) {
    const int t = base + team;
    const bool real = t < t1;
    float kf[8];
    if (real) {
      load8(row(k_cache, t), kf);
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) kf[i] = 0.f;
    }
#pragma unroll
    for (int g = 0; g < GM; ++g) {
      if (g < gc) {
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < 8; ++i) dot += qv[g][i] * kf[i];
#pragma unroll
        for (int off = kLanes / 2; off > 0; off /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, off);
        if (real) {
          if (tl == 0) scores[g][t - t0] = dot;
          local_max[g] = fmaxf(local_max[g], dot);
        }
      }
    }
  }
  // A team whose loop ran no token has -inf; the max over the CTA does not.
#pragma unroll
  for (int g = 0; g < GM; ++g) {
#pragma unroll
    for (int off = 16; off > 0; off /= 2)
      local_max[g] = fmaxf(local_max[g], __shfl_xor_sync(0xffffffffu, local_max[g], off));
    if (g < gc && lane == 0) red[g][warp] = local_max[g];
  }
  __syncthreads();
  float mx[GM];
#pragma unroll
  for (int g = 0; g < GM; ++g) {
    mx[g] = -INFINITY;
    if (g < gc) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) mx[g] = fmaxf(mx[g], red[g][w]);
    }
  }
  __syncthreads();  // everyone has read red before it is reused

  // Weights p = exp(score - max), and their sums.
  float local_sum[GM];
#pragma unroll
  for (int g = 0; g < GM; ++g) {
    local_sum[g] = 0.f;
    if (g < gc) {
      for (int i = threadIdx.x; i < t1 - t0; i += kThreads) {
        const float p = __expf(scores[g][i] - mx[g]);
        scores[g][i] = p;
        local_sum[g] += p;
      }
#pragma unroll
      for (int off = 16; off > 0; off /= 2) local_sum[g] += __shfl_xor_sync(0xffffffffu, local_sum[g], off);
      if (lane == 0) red[g][warp] = local_sum[g];
    }
  }
  __syncthreads();

  // P V: each team its tokens, 8 output dimensions a lane, every query head.
  float acc[GM][8];
#pragma unroll
  for (int g = 0; g < GM; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = 0.f;
#pragma unroll 2
  for (int t = t0 + warp * kTeams + team; t < t1; t += kStride) {
    float vf[8];
    load8(row(v_cache, t), vf);
#pragma unroll
    for (int g = 0; g < GM; ++g) {
      if (g < gc) {
        const float p = scores[g][t - t0];
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] += p * vf[i];
      }
    }
  }
  // Sum the warp's teams (lanes kLanes apart hold the same dimensions),
  // then the warps through shared memory.
#pragma unroll
  for (int g = 0; g < GM; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int off = 16; off >= kLanes; off /= 2) acc[g][i] += __shfl_xor_sync(0xffffffffu, acc[g][i], off);
  if (team == 0) {
#pragma unroll
    for (int g = 0; g < GM; ++g)
      if (g < gc)
#pragma unroll
        for (int i = 0; i < 8; ++i) acc_red[warp][g][tl * 8 + i] = acc[g][i];
  }
  __syncthreads();
  for (int e = threadIdx.x; e < gc * D; e += kThreads) {
    const int g = e / D, d = e % D;
    float a = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) a += acc_red[w][g][d];
    part_acc[slot(g) * D + d] = a;
  }
  if (threadIdx.x < gc) {
    const int g = threadIdx.x;
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += red[g][w];
    float m = -INFINITY;
#pragma unroll
    for (int gg = 0; gg < GM; ++gg)
      if (gg == g) m = mx[gg];
    part_max[slot(g)] = m;
    part_sum[slot(g)] = sum;
  }
}

template <typename T, int D>
__global__ void decode_combine_kernel(const float* __restrict__ part_max, const float* __restrict__ part_sum,
                                      const float* __restrict__ part_acc, T* __restrict__ o, int n_parts, int heads) {
  const int n = blockIdx.x, h = blockIdx.y;
  const size_t base = (static_cast<size_t>(n) * heads + h) * n_parts;
  float mx = -INFINITY;
  for (int p = 0; p < n_parts; ++p) mx = fmaxf(mx, part_max[base + p]);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float num = 0.f, den = 0.f;
    for (int p = 0; p < n_parts; ++p) {
      const float w = part_max[base + p] == -INFINITY ? 0.f : __expf(part_max[base + p] - mx);
      num += w * part_acc[(base + p) * D + d];
      den += w * part_sum[base + p];
    }
    const float out = den > 0.f ? num / den : 0.f;
    o[(static_cast<size_t>(n) * heads + h) * D + d] = static_cast<T>(out);
  }
}

template <typename T, int D>
cudaError_t launch(const void* q, const void* k, const void* v, const int* table, const int* lens, void* o,
                   void* workspace, const PagedDecodeShape& s, cudaStream_t stream) {
  const int np = partitions(s);
  const size_t slots = static_cast<size_t>(s.num_seqs) * s.heads * np;
  float* part_max = static_cast<float*>(workspace);
  float* part_sum = part_max + slots;
  float* part_acc = part_sum + slots;
  const float scale = s.scale > 0.f ? s.scale : 1.f / sqrtf(static_cast<float>(D));
  const dim3 grid(s.num_seqs, s.kv_heads * group_chunks(s), np);
  const int group = s.heads / s.kv_heads;
  const auto args = [&](auto kernel) {
    kernel<<<grid, kThreads, 0, stream>>>(static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
                                          table, lens, part_max, part_sum, part_acc, s, scale);
  };
  if (group == 1) {
    args(decode_partition_kernel<T, D, 1>);
  } else if (group == 2) {
    args(decode_partition_kernel<T, D, 2>);
  } else if (group <= 4) {
    args(decode_partition_kernel<T, D, 4>);
  } else {
    args(decode_partition_kernel<T, D, kMaxGroup>);
  }
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  decode_combine_kernel<T, D>
      <<<dim3(s.num_seqs, s.heads), D, 0, stream>>>(part_max, part_sum, part_acc, static_cast<T*>(o), np, s.heads);
  return cudaGetLastError();
}

}  // namespace

std::size_t decode_attention_workspace_bytes(const PagedDecodeShape& s) {
  const std::size_t slots = static_cast<std::size_t>(s.num_seqs) * s.heads * partitions(s);
  return slots * (2 + static_cast<std::size_t>(s.head_dim)) * sizeof(float);
}

cudaError_t decode_attention(const void* q, const void* k_cache, const void* v_cache, const int* block_table,
                             const int* seq_lens, void* o, void* workspace, const PagedDecodeShape& s, DType dtype,
                             cudaStream_t stream) {
  if (s.num_seqs < 1 || s.heads < 1 || s.kv_heads < 1 || s.heads % s.kv_heads != 0 || s.block_size < 1 ||
      s.max_blocks_per_seq < 1 || s.max_seq_len < 1 || s.max_seq_len > s.block_size * s.max_blocks_per_seq ||
      !half_dtype(dtype)) {
    return cudaErrorInvalidValue;
  }
  if (s.head_dim == 64) {
    return dtype == DType::kBF16
               ? launch<__nv_bfloat16, 64>(q, k_cache, v_cache, block_table, seq_lens, o, workspace, s, stream)
               : launch<__half, 64>(q, k_cache, v_cache, block_table, seq_lens, o, workspace, s, stream);
  }
  if (s.head_dim == 128) {
    return dtype == DType::kBF16
               ? launch<__nv_bfloat16, 128>(q, k_cache, v_cache, block_table, seq_lens, o, workspace, s, stream)
               : launch<__half, 128>(q, k_cache, v_cache, block_table, seq_lens, o, workspace, s, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace plotforge::kernels
