#include <cuda_bf16.h>

#include "kernels/runtime_ops.h"

namespace plotforge::kernels {

namespace {

constexpr int kThreads = 256;

__global__ void embed_rows_kernel(const __nv_bfloat16* __restrict__ table, const int* __restrict__ tokens,
                                  float* __restrict__ x, int dim) {
  const int r = blockIdx.x;
  const __nv_bfloat16* row = table + static_cast<size_t>(tokens[r]) * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) x[static_cast<size_t>(r) * dim + i] = __bfloat162float(row[i]);
}

// One block per row; a block-wide sum of squares.
__global__ void rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ w, __nv_bfloat16* __restrict__ y,
                                int dim, float eps) {
  __shared__ float partial[kThreads / 32];
  const float* xr = x + static_cast<size_t>(blockIdx.x) * dim;
  float ss = 0.f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
  for (int off = 16; off > 0; off /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    ss = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.f;
    for (int off = 16; off > 0; off /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, off);
    if (threadIdx.x == 0) partial[0] = ss;
  }
  __syncthreads();
  const float r = rsqrtf(partial[0] / dim + eps);
  __nv_bfloat16* yr = y + static_cast<size_t>(blockIdx.x) * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = __float2bfloat16(xr[i] * r * w[i]);
}

// One block per row; thread i handles element pairs (i, i + head_dim / 2)
// of every head.
__global__ void rope_and_cache_kernel(const float* __restrict__ qkv, const float* __restrict__ cos_t,
                                      const float* __restrict__ sin_t, const int* __restrict__ positions,
                                      const int* __restrict__ slots, __nv_bfloat16* __restrict__ q_out,
                                      __nv_bfloat16* __restrict__ k_cache, __nv_bfloat16* __restrict__ v_cache,
                                      CacheWrite c) {
  const int r = blockIdx.x, hd = c.head_dim, half = hd / 2;
  const float* row = qkv + static_cast<size_t>(r) * (c.heads + 2 * c.kv_heads) * hd;
  const float* cs = cos_t + static_cast<size_t>(positions[r]) * hd;
  const float* sn = sin_t + static_cast<size_t>(positions[r]) * hd;
  const int block = slots[r] / c.block_size, off = slots[r] % c.block_size;
  const int pairs = (c.heads + c.kv_heads) * half;
  for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
    const int head = i / half, k = i % half;  // heads [0, heads) are q, then kv_heads of k
    const float a = row[head * hd + k], b = row[head * hd + k + half];
    const float lo = a * cs[k] - b * sn[k], hi = b * cs[k + half] + a * sn[k + half];
    if (head < c.heads) {
      __nv_bfloat16* q = q_out + (static_cast<size_t>(r) * c.heads + head) * hd;
      q[k] = __float2bfloat16(lo);
      q[k + half] = __float2bfloat16(hi);
    } else {
      const int g = head - c.heads;
      __nv_bfloat16* kc = k_cache + ((static_cast<size_t>(block) * c.kv_heads + g) * c.block_size + off) * hd;
      kc[k] = __float2bfloat16(lo);
      kc[k + half] = __float2bfloat16(hi);
    }
  }
  const float* v = row + (c.heads + c.kv_heads) * hd;
  for (int i = threadIdx.x; i < c.kv_heads * hd; i += blockDim.x) {
    const int g = i / hd, d = i % hd;
    v_cache[((static_cast<size_t>(block) * c.kv_heads + g) * c.block_size + off) * hd + d] = __float2bfloat16(v[i]);
  }
}

__global__ void silu_mul_kernel(const float* __restrict__ gu, __nv_bfloat16* __restrict__ act, int hidden) {
  const int r = blockIdx.x;
  const float* g = gu + static_cast<size_t>(r) * 2 * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float x = g[i];
    act[static_cast<size_t>(r) * hidden + i] = __float2bfloat16(x / (1.f + __expf(-x)) * g[hidden + i]);
  }
}

__global__ void gather_rows_kernel(const float* __restrict__ x, const int* __restrict__ rows, float* __restrict__ out,
                                   int dim) {
  const float* src = x + static_cast<size_t>(rows[blockIdx.x]) * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) out[static_cast<size_t>(blockIdx.x) * dim + i] = src[i];
}

}  // namespace

cudaError_t embed_rows(const void* table, const int* tokens, float* x, int rows, int dim, cudaStream_t stream) {
  if (rows < 1 || dim < 1) return rows == 0 ? cudaSuccess : cudaErrorInvalidValue;
  embed_rows_kernel<<<rows, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(table), tokens, x, dim);
  return cudaGetLastError();
}

cudaError_t rms_norm_bf16(const float* x, const float* weight, void* y, int rows, int dim, float eps,
                          cudaStream_t stream) {
  if (rows < 1 || dim < 1) return rows == 0 ? cudaSuccess : cudaErrorInvalidValue;
  rms_norm_kernel<<<rows, kThreads, 0, stream>>>(x, weight, static_cast<__nv_bfloat16*>(y), dim, eps);
  return cudaGetLastError();
}

cudaError_t rope_and_cache(const float* qkv, const float* cos, const float* sin, const int* positions, const int* slots,
                           void* q_out, void* k_cache, void* v_cache, int rows, const CacheWrite& c,
                           cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (rows < 0 || c.head_dim % 2 != 0 || c.heads % c.kv_heads != 0 || c.block_size < 1) return cudaErrorInvalidValue;
  rope_and_cache_kernel<<<rows, kThreads, 0, stream>>>(
      qkv, cos, sin, positions, slots, static_cast<__nv_bfloat16*>(q_out), static_cast<__nv_bfloat16*>(k_cache),
      static_cast<__nv_bfloat16*>(v_cache), c);
  return cudaGetLastError();
}

cudaError_t silu_mul_bf16(const float* gate_up, void* act, int rows, int hidden, cudaStream_t stream) {
  if (rows < 1 || hidden < 1) return rows == 0 ? cudaSuccess : cudaErrorInvalidValue;
  silu_mul_kernel<<<rows, kThreads, 0, stream>>>(gate_up, static_cast<__nv_bfloat16*>(act), hidden);
  return cudaGetLastError();
}

cudaError_t gather_rows(const float* x, const int* rows, float* out, int n, int dim, cudaStream_t stream) {
  if (n < 1 || dim < 1) return n == 0 ? cudaSuccess : cudaErrorInvalidValue;
  gather_rows_kernel<<<n, kThreads, 0, stream>>>(x, rows, out, dim);
  return cudaGetLastError();
}

}  // namespace plotforge::kernels
