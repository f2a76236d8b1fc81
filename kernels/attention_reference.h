// CPU references for the attention kernels: plain loops with double
// accumulation, same layouts and masking as attention.h but float32 data.
// They define what the CUDA kernels must compute and are tested against
// naive math and finite differences in the default (CPU) suite.
#pragma once

#include <vector>

namespace plotforge::kernels {

struct AttentionShape;
struct PagedDecodeShape;

void attention_forward_reference(const float* q, const float* k, const float* v, float* o, float* lse,
                                 const AttentionShape& shape);

// Gradients of sum(o * d_o) with respect to q, k and v.
void attention_backward_reference(const float* q, const float* k, const float* v, const float* d_o, float* dq,
                                  float* dk, float* dv, const AttentionShape& shape);

void decode_attention_reference(const float* q, const float* k_cache, const float* v_cache, const int* block_table,
                                const int* seq_lens, float* o, const PagedDecodeShape& shape);

}  // namespace plotforge::kernels
