// Attention kernels: a plain C++ API over raw device pointers and a stream,
// so the torch-free runtime and the libtorch model call the same code.
//
// Layouts (row-major, contiguous):
//   q, o      [batch, heads, q_len, head_dim]
//   k, v      [batch, kv_heads, kv_len, head_dim]      heads % kv_heads == 0
//   lse       [batch, heads, q_len] float32: log-sum-exp of the scaled scores
// Causal masking is aligned bottom-right, as in FlashAttention-2: query i may
// see key j when j <= i + (kv_len - q_len). A query that sees no key gets a
// zero output and lse = -inf.
//
// Paged decode (one new query token per sequence):
//   q, o        [num_seqs, heads, head_dim]
//   k_cache     [num_blocks, kv_heads, block_size, head_dim] (v_cache alike)
//   block_table [num_seqs, max_blocks_per_seq] int32: physical block of each
//               logical block; seq_lens [num_seqs] int32 (tokens in cache,
//               the new one included)
//
// Every function returns cudaSuccess or the first CUDA error; shapes the
// kernels do not support return cudaErrorInvalidValue. When the project is
// built without CUDA these functions do not exist; the CPU references in
// attention_reference.h always do.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/attention_shape.h"

namespace plotforge::kernels {

// Fused forward (FlashAttention-2 style): online softmax over K/V tiles in
// shared memory; the q_len x kv_len score matrix never exists. head_dim 64
// or 128; fp32 accumulation; writes o and lse.
cudaError_t attention_forward(const void* q, const void* k, const void* v, void* o, float* lse,
                              const AttentionShape& shape, DType dtype, cudaStream_t stream);

// Bytes of workspace attention_backward needs for this shape (one float per
// query row).
std::size_t attention_backward_workspace_bytes(const AttentionShape& shape);

// Fused backward: dq, dk, dv (same layouts and dtype as q, k, v) of
// sum(o * d_o), from the forward's inputs, its o and its lse. Scores are
// recomputed from lse, never stored. Deterministic: no atomics, so the same
// inputs give bit-identical gradients. GQA's dk/dv sum over each kv head's
// query heads.
cudaError_t attention_backward(const void* q, const void* k, const void* v, const void* o, const void* d_o,
                               const float* lse, void* dq, void* dk, void* dv, void* workspace,
                               const AttentionShape& shape, DType dtype, cudaStream_t stream);

// Bytes of float workspace decode_attention needs for this shape.
std::size_t decode_attention_workspace_bytes(const PagedDecodeShape& shape);

// Flash-decoding: the sequence is split into partitions processed in
// parallel, then their partial softmax results are combined.
cudaError_t decode_attention(const void* q, const void* k_cache, const void* v_cache, const int* block_table,
                             const int* seq_lens, void* o, void* workspace, const PagedDecodeShape& shape, DType dtype,
                             cudaStream_t stream);

}  // namespace plotforge::kernels
