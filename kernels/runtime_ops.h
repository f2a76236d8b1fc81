// The elementwise kernels of the runtime's CUDA backend
// (inference/cuda_engine.h): the residual stream stays float32, what feeds a
// GEMM or the attention kernels is bf16. Raw device pointers and a stream,
// like attention.h; bf16 buffers are passed as void*.
//
// Each is checked against a few lines of CPU reference in
// tests/kernels/runtime_ops_gpu_test.cc, and all of them together against
// the CPU engine (inference/engine.cc) by the runtime's GPU parity test.
// Built only with CUDA; never run on a GPU yet.
#pragma once

#include <cuda_runtime.h>

namespace plotforge::kernels {

// x[r, :] = table[tokens[r], :], bf16 rows widened to float32.
cudaError_t embed_rows(const void* table, const int* tokens, float* x, int rows, int dim, cudaStream_t stream);

// y[r, :] = x[r, :] / rms(x[r, :]) * weight, written as bf16.
cudaError_t rms_norm_bf16(const float* x, const float* weight, void* y, int rows, int dim, float eps,
                          cudaStream_t stream);

// The paged KV cache of one layer: [num_blocks, kv_heads, block_size,
// head_dim] bf16 for K and for V, as decode_attention reads it.
struct CacheWrite {
  int heads = 1, kv_heads = 1, head_dim = 64, block_size = 16;
};

// For each row r (one new token at positions[r]): rotate-half rotary on the
// q and k heads of qkv[r] ([heads + 2 kv_heads] x head_dim float32, q then k
// then v) with cos/sin table rows [positions[r]] ([context, head_dim]);
// write q as bf16 into q_out [rows, heads, head_dim], and k and v into the
// caches at slots[r] = block * block_size + offset.
cudaError_t rope_and_cache(const float* qkv, const float* cos, const float* sin, const int* positions, const int* slots,
                           void* q_out, void* k_cache, void* v_cache, int rows, const CacheWrite& c,
                           cudaStream_t stream);

// act[r, i] = silu(gu[r, i]) * gu[r, hidden + i], as bf16.
cudaError_t silu_mul_bf16(const float* gate_up, void* act, int rows, int hidden, cudaStream_t stream);

// out[i, :] = x[rows[i], :].
cudaError_t gather_rows(const float* x, const int* rows, float* out, int n, int dim, cudaStream_t stream);

}  // namespace plotforge::kernels
