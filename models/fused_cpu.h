// Fused CPU float32 forms of the small, op-heavy pieces of the model, each a
// torch autograd function with a hand-written backward:
//   rms_norm(x, w)        x * rsqrt(mean(x^2) + eps) * w over the last dim
//   apply_rotary(x, cos, sin)   x * cos + rotate_half(x) * sin
//   swiglu(gu)            silu(gate) * up, gu = [gate, up] on the last dim
//   causal_self_attention(qkv, cos, sin, heads, kv_heads)
//                         split, rotary on q and k, causal softmax attention
//                         and the heads merged (fused_cpu_attention.cc)
// On tiny CPU models every op costs far more in dispatch and allocation than
// in arithmetic; these replace six to twenty ops each (and their backwards)
// with loops and, for attention, one OpenBLAS call per head and product.
// Other devices and dtypes take the plain op path in transformer.cc; both
// paths are checked against each other in tests/model_test.cc.
#pragma once

#include <ATen/Tensor.h>

namespace plotforge::fused {

bool applies(const at::Tensor& x);  // CPU, float32
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);
// x [..., T, D] with cos/sin [T, D], D even.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
// gu [..., 2F] -> [..., F]. Keeps the gate's sigmoid ([..., F]) for the backward.
at::Tensor swiglu(const at::Tensor& gu);

// The attention keeps each head's T x T probabilities for the backward
// (B * heads * T^2 floats: 0.8 MB a layer for batch 12, 4 heads, T 64), so it
// is for short contexts: longer ones take libtorch's attention.
constexpr int64_t kMaxFusedContext = 256;
// CPU float32 and T <= kMaxFusedContext.
bool causal_self_attention_applies(const at::Tensor& qkv);
// qkv [B, T, (heads + 2 kv_heads) * D] (q's heads, then k's, then v's, as
// the projection writes them), cos/sin [T, D] -> [B, T, heads * D]: query t
// sees keys 0..t; query head h reads kv head h / (heads / kv_heads).
at::Tensor causal_self_attention(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin, int64_t heads,
                                 int64_t kv_heads);

// One row of D floats: y = x*cos + rotate_half(x)*sin with c/s that row's
// tables; sign -1 applies the transpose (the backward), since the tables'
// halves repeat. Shared by apply_rotary and the fused attention.
inline void rotate_row(const float* x, const float* c, const float* s, float* y, int64_t D, float sign) {
  const int64_t h = D / 2;
  for (int64_t d = 0; d < h; ++d) {
    y[d] = x[d] * c[d] - sign * x[d + h] * s[d];
    y[d + h] = x[d + h] * c[d + h] + sign * x[d] * s[d + h];
  }
}

}  // namespace plotforge::fused
