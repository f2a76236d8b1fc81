// causal_attention on CUDA bf16 tensors runs our kernels (models/
// fused_attention.h); its output and gradients must match libtorch's fp32
// attention on the same values. Label gpu: skips without a CUDA libtorch and
// device. Checks that the fused path was taken, so it cannot pass by
// comparing libtorch with itself.
#include "models/fused_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/attention.h"

namespace plotforge {
namespace {

struct Case {
  int64_t batch, heads, kv_heads, start, len, head_dim;
};

class FusedAttentionGpu : public ::testing::TestWithParam<Case> {};

double relative_error(const at::Tensor& out, const at::Tensor& ref) {
  return ((out.to(at::kDouble) - ref.to(at::kDouble)).norm() / ref.to(at::kDouble).norm().clamp_min(1e-30))
      .item<double>();
}

TEST_P(FusedAttentionGpu, MatchesLibtorchForwardAndBackward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA libtorch or device";
  const Case c = GetParam();
  torch::manual_seed(c.len * 7 + c.head_dim);
  const auto f32 = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat);
  // Values rounded to bf16 first, so both sides see the same inputs.
  auto q32 = torch::randn({c.batch, c.heads, c.len, c.head_dim}, f32).to(torch::kBFloat16).to(torch::kFloat);
  auto k32 =
      torch::randn({c.batch, c.kv_heads, c.start + c.len, c.head_dim}, f32).to(torch::kBFloat16).to(torch::kFloat);
  auto v32 =
      torch::randn({c.batch, c.kv_heads, c.start + c.len, c.head_dim}, f32).to(torch::kBFloat16).to(torch::kFloat);
  const auto grad = torch::randn({c.batch, c.heads, c.len, c.head_dim}, f32).to(torch::kBFloat16).to(torch::kFloat);

  auto q = q32.to(torch::kBFloat16).requires_grad_(), k = k32.to(torch::kBFloat16).requires_grad_(),
       v = v32.to(torch::kBFloat16).requires_grad_();
  ASSERT_TRUE(fused_attention_applies(q, k, v));
  const auto out = causal_attention(q, k, v, c.start);
  out.backward(grad.to(torch::kBFloat16));

  q32.requires_grad_(), k32.requires_grad_(), v32.requires_grad_();
  ASSERT_FALSE(fused_attention_applies(q32, k32, v32));  // fp32: libtorch's attention
  const auto ref = causal_attention(q32, k32, v32, c.start);
  ref.backward(grad);

  EXPECT_LE(relative_error(out, ref), 1e-2);
  EXPECT_LE(relative_error(q.grad(), q32.grad()), 1e-2);
  EXPECT_LE(relative_error(k.grad(), k32.grad()), 1e-2);
  EXPECT_LE(relative_error(v.grad(), v32.grad()), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedAttentionGpu,
                         ::testing::Values(Case{2, 4, 4, 0, 128, 64}, Case{1, 8, 2, 0, 300, 128},  // GQA
                                           Case{2, 4, 4, 50, 70, 64},                              // continuing a cache
                                           Case{1, 4, 1, 99, 1, 128}));                            // one decode step

TEST(FusedAttention, NeverAppliesToCpuTensors) {
  const auto t = torch::randn({1, 2, 8, 64}).to(torch::kBFloat16);
  EXPECT_FALSE(fused_attention_applies(t, t, t));
}

}  // namespace
}  // namespace plotforge
