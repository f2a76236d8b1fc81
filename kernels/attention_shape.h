// Shapes shared by the attention kernels (attention.h) and their CPU
// references (attention_reference.h). No CUDA headers here: CPU-only builds
// use the references.
#pragma once

#include "base/dtype.h"

namespace plotforge::kernels {

// The kernels take DType::kBF16 or DType::kF16 (base/dtype.h) and answer
// cudaErrorInvalidValue for any other type.
using plotforge::DType;
inline bool half_dtype(DType t) { return t == DType::kBF16 || t == DType::kF16; }

struct AttentionShape {
  int batch = 1, heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, head_dim = 64;
  bool causal = true;
  float scale = 0.f;  // 0 means 1/sqrt(head_dim)
};

// What the fused forward and backward kernels accept: head_dim 64 or 128,
// heads a multiple of kv_heads, non-empty, and within the launch grid.
inline bool attention_shape_supported(const AttentionShape& s) {
  return s.batch >= 1 && s.heads >= 1 && s.kv_heads >= 1 && s.heads % s.kv_heads == 0 && s.q_len >= 1 &&
         s.kv_len >= 1 && s.batch <= 65535 && s.heads <= 65535 && (s.head_dim == 64 || s.head_dim == 128);
}

struct PagedDecodeShape {
  int num_seqs = 1, heads = 1, kv_heads = 1, head_dim = 128;
  int block_size = 16, max_blocks_per_seq = 1;
  int max_seq_len = 1;  // upper bound of seq_lens; sizes the split
  float scale = 0.f;
};

}  // namespace plotforge::kernels
