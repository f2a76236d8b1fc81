// Fused CPU float32 forms of two small, op-heavy pieces of the model, each a
// torch autograd function with a hand-written backward:
//   rms_norm(x, w)        x * rsqrt(mean(x^2) + eps) * w over the last dim
//   apply_rotary(x, cos, sin)   x * cos + rotate_half(x) * sin
// On tiny CPU models every op costs far more in dispatch and allocation than
// in arithmetic; these replace about six ops each (and their backwards) with
// one loop. Other devices and dtypes take the plain op path in transformer.cc;
// both paths are checked against each other in tests/model_test.cc.
#pragma once

#include <ATen/Tensor.h>

namespace plotforge::fused {

bool applies(const at::Tensor& x);  // CPU, float32
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);
// x [..., T, D] with cos/sin [T, D], D even.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace plotforge::fused
