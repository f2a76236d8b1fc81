// The custom CUDA attention kernels (kernels/attention.h) as a libtorch
// autograd function: forward saves o and the per-row log-sum-exp, backward
// calls the fused, deterministic backward kernel.
//
// causal_attention (models/attention.h) takes this path by itself whenever
// fused_attention_applies; nothing else needs to call it. It exists only in
// builds with CUDA (PLOTFORGE_HAVE_CUDA); a build against a CPU-only libtorch
// compiles it but never has CUDA tensors to give it.
#pragma once

#include <ATen/Tensor.h>

namespace plotforge {

// True when the kernels can compute this call: CUDA tensors, bf16 or fp16,
// head_dim 64 or 128, heads a multiple of kv heads, and a build with CUDA.
bool fused_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// q [B, H, T, D], k and v [B, Hkv, Tk, D] (Tk >= T when causal: query i sees
// keys up to Tk - T + i, the KV-cache alignment). Differentiable in q, k, v.
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal);

}  // namespace plotforge
