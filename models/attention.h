// The one function every model computes attention through, so the CUDA
// kernels (kernels/attention.h) plug in at a single place.
//
//   q [B, H, T, D], k and v [B, Hkv, start + T, D]  (H % Hkv == 0)
//   -> [B, H, T, D], query i attending to keys 0 .. start + i.
//
// On CUDA tensors in bf16/fp16 with head_dim 64 or 128 it runs our fused
// kernels (models/fused_attention.h, forward and backward), in builds with
// CUDA; otherwise libtorch's fused attention (the private
// at::_scaled_dot_product_attention in 1.13, the public one in 2.x; see
// torch_compat.h). The kernels have not run on a GPU yet
// (docs/perf/attention-h200.md).
#pragma once

#include <ATen/Tensor.h>

namespace plotforge {

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start);

// Bidirectional attention for encoders: every query sees every key that is
// not padding. key_padding [B, Tk] bool, true where the key is padding (a
// query row that is itself padding still sees the real keys, so no row is
// all -inf).
at::Tensor bidirectional_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& key_padding);

}  // namespace plotforge
