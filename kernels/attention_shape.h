// Shapes shared by the attention kernels (attention.h) and their CPU
// references (attention_reference.h). No CUDA headers here: CPU-only builds
// use the references.
#pragma once

namespace plotforge::kernels {

enum class DType { kBF16, kFP16 };

struct AttentionShape {
  int batch = 1, heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, head_dim = 64;
  bool causal = true;
  float scale = 0.f;  // 0 means 1/sqrt(head_dim)
};

struct PagedDecodeShape {
  int num_seqs = 1, heads = 1, kv_heads = 1, head_dim = 128;
  int block_size = 16, max_blocks_per_seq = 1;
  int max_seq_len = 1;  // upper bound of seq_lens; sizes the split
  float scale = 0.f;
};

}  // namespace plotforge::kernels
