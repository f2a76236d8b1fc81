// Paged decode attention with flash-decoding.
//
// Decode is memory-bound: every step reads each sequence's whole K/V cache
// once. A CTA handles one (sequence, head, partition of kPartition tokens):
// its warps compute the partition's scores (a warp per token, lanes across
// head_dim, 8-byte loads) into shared memory, then every thread owns one
// output dimension and accumulates P V with coalesced loads. Partial
// (max, sum, acc) go to the workspace, and a second kernel combines the
// partitions. Splitting keeps all SMs busy when there are few sequences but
// long contexts.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "kernels/attention.h"
#include "kernels/mma.cuh"

namespace plotforge::kernels {

namespace {

constexpr int kPartition = 512;  // tokens per CTA
constexpr int kThreads = 128;

int partitions(const PagedDecodeShape& s) { return (s.max_seq_len + kPartition - 1) / kPartition; }

template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    decode_partition_kernel(const T* __restrict__ q, const T* __restrict__ k_cache, const T* __restrict__ v_cache,
                            const int* __restrict__ block_table, const int* __restrict__ seq_lens,
                            float* __restrict__ part_max, float* __restrict__ part_sum, float* __restrict__ part_acc,
                            PagedDecodeShape s, float scale) {
  __shared__ float scores[kPartition];
  __shared__ float red[kThreads / 32];
  const int n = blockIdx.x, h = blockIdx.y, part = blockIdx.z;
  const int n_parts = gridDim.z;
  const int len = seq_lens[n];
  const int t0 = part * kPartition, t1 = min(len, t0 + kPartition);
  const size_t slot = (static_cast<size_t>(n) * s.heads + h) * n_parts + part;
  if (t0 >= t1) {
    if (threadIdx.x == 0) {
      part_max[slot] = -INFINITY;
      part_sum[slot] = 0.f;
    }
    for (int d = threadIdx.x; d < D; d += kThreads) part_acc[slot * D + d] = 0.f;
    return;
  }
  const int kvh = h / (s.heads / s.kv_heads);
  const int* table = block_table + static_cast<size_t>(n) * s.max_blocks_per_seq;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  constexpr int kPerLane = D / 32;  // 2 or 4 elements
  float qv[kPerLane];
  const T* qh = q + (static_cast<size_t>(n) * s.heads + h) * D;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) qv[i] = to_float<T>(qh[lane * kPerLane + i]) * scale;

  auto row = [&](const T* cache, int t) {
    const int block = table[t / s.block_size];
    return cache + ((static_cast<size_t>(block) * s.kv_heads + kvh) * s.block_size + t % s.block_size) * D;
  };

  float local_max = -INFINITY;
  for (int t = t0 + warp; t < t1; t += kThreads / 32) {
    const T* kr = row(k_cache, t) + lane * kPerLane;
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) dot += qv[i] * to_float<T>(kr[i]);
#pragma unroll
    for (int off = 16; off > 0; off /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, off);
    if (lane == 0) scores[t - t0] = dot;
    local_max = fmaxf(local_max, dot);
  }
  if (lane == 0) red[warp] = local_max;
  __syncthreads();
  float mx = red[0];
#pragma unroll
  for (int w = 1; w < kThreads / 32; ++w) mx = fmaxf(mx, red[w]);
  __syncthreads();  // everyone has read red before it is reused

  float local_sum = 0.f;
  for (int i = threadIdx.x; i < t1 - t0; i += kThreads) {
    const float p = __expf(scores[i] - mx);
    scores[i] = p;
    local_sum += p;
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) local_sum += __shfl_xor_sync(0xffffffffu, local_sum, off);
  if (lane == 0) red[warp] = local_sum;
  __syncthreads();
  float sum = 0.f;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) sum += red[w];

  // P V: thread d owns output dimension d (threads past D idle for D=64).
  for (int d = threadIdx.x; d < D; d += kThreads) {
    float a = 0.f;
    for (int t = t0; t < t1; ++t) a += scores[t - t0] * to_float<T>(row(v_cache, t)[d]);
    part_acc[slot * D + d] = a;
  }
  if (threadIdx.x == 0) {
    part_max[slot] = mx;
    part_sum[slot] = sum;
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
  decode_partition_kernel<T, D><<<dim3(s.num_seqs, s.heads, np), kThreads, 0, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), table, lens, part_max, part_sum,
      part_acc, s, scale);
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
