// models/projection.h: the linear maps in fp32 and as bf16 products, and
// how --cpu-matmul chooses between them.
#include "models/projection.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "base/error.h"

namespace plotforge {
namespace {

struct ModeGuard {
  explicit ModeGuard(CpuMatmul m) : before(cpu_matmul()) { set_cpu_matmul(m); }
  ~ModeGuard() { set_cpu_matmul(before); }
  CpuMatmul before;
};

torch::Tensor rounded(const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat64); }

// |got - want| within `rel` of sum_k |a_k b_k| (the scale of a product's
// rounding error), element by element.
void expect_within(const torch::Tensor& got, const torch::Tensor& want, const torch::Tensor& scale, double rel,
                   const char* what) {
  const auto err = (got.to(torch::kFloat64) - want).abs();
  const auto bound = scale * rel + 1e-30;
  EXPECT_LE((err / bound).max().item<double>(), 1.0) << what;
}

TEST(Projection, Fp32IsTorchsLinear) {
  ModeGuard g(CpuMatmul::kFloat32);
  torch::manual_seed(1);
  const auto x = torch::randn({2, 5, 37}), w = torch::randn({11, 37});
  EXPECT_TRUE(torch::equal(project(x, w), torch::nn::functional::linear(x, w)));
}

// The bf16 path against its definition: the product of x and w rounded to
// bf16, summed exactly (double here), rounded to bf16 once more. Shapes
// with odd sizes (no multiple of any vector or tile width).
TEST(Projection, Bf16ProductsAreTheRoundedOperandsProductsForwardAndBackward) {
  ModeGuard mode(CpuMatmul::kBFloat16);
  torch::manual_seed(2);
  const auto x = torch::randn({3, 7, 37}, torch::requires_grad()), w = torch::randn({13, 37}, torch::requires_grad());
  const auto dy = torch::randn({3, 7, 13});
  const auto y = project(x, w);
  ASSERT_EQ(y.scalar_type(), torch::kFloat32);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 7, 13}));
  const auto grads = torch::autograd::grad({y}, {x, w}, {dy});

  const auto xd = rounded(x.detach()), wd = rounded(w.detach()), gd = rounded(dy);
  const auto x2 = x.detach().to(torch::kFloat64).abs(), w2 = w.detach().to(torch::kFloat64).abs();
  // Sums accumulate in fp32 over 37 or 21 terms, then one bf16 rounding
  // (2^-9 relative): 2^-8 of sum |a b| bounds both with room.
  const double rel = std::ldexp(1.0, -8);
  expect_within(y, torch::matmul(xd, wd.t()), torch::matmul(x2, w2.t()), rel, "y");
  expect_within(grads[0], torch::matmul(gd, wd), torch::matmul(gd.abs(), w2), rel, "dx");
  expect_within(grads[1], torch::matmul(gd.reshape({-1, 13}).t(), xd.reshape({-1, 37})),
                torch::matmul(gd.abs().reshape({-1, 13}).t(), x2.reshape({-1, 37})), rel, "dw");
  // And it is bf16, not fp32: fp32's product differs from it.
  EXPECT_GT((y - torch::nn::functional::linear(x.detach(), w.detach())).abs().max().item<double>(), 1e-4);
  // The same inputs give the same bits.
  EXPECT_TRUE(torch::equal(project(x.detach(), w.detach()), y.detach()));
}

TEST(Projection, Bf16LeavesOtherDtypesToTorch) {
  ModeGuard mode(CpuMatmul::kBFloat16);
  const auto x = torch::randn({4, 9}, torch::kFloat64), w = torch::randn({3, 9}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(project(x, w), torch::nn::functional::linear(x, w)));
}

TEST(Projection, AutoPicksBf16OnlyWithAmxAndOneDnn) {
  CpuFeatures amx, no_amx;
  amx.avx512f = amx.avx512_bf16 = amx.amx_bf16 = true;
  no_amx.avx512f = no_amx.avx512_bf16 = true;
  EXPECT_EQ(choose_cpu_matmul("auto", amx, true).mode, CpuMatmul::kBFloat16);
  EXPECT_EQ(choose_cpu_matmul("auto", no_amx, true).mode, CpuMatmul::kFloat32);
  EXPECT_EQ(choose_cpu_matmul("auto", amx, false).mode, CpuMatmul::kFloat32);
  EXPECT_NE(choose_cpu_matmul("auto", no_amx, true).why.find("no AMX"), std::string::npos);
  EXPECT_EQ(choose_cpu_matmul("fp32", amx, true).mode, CpuMatmul::kFloat32);
  EXPECT_EQ(choose_cpu_matmul("bf16", no_amx, true).mode, CpuMatmul::kBFloat16);
  try {
    choose_cpu_matmul("bf16", amx, false);
    ADD_FAILURE() << "bf16 without oneDNN accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--cpu-matmul bf16"), std::string::npos) << e.what();
  }
  try {
    choose_cpu_matmul("fp16", amx, true);
    ADD_FAILURE() << "fp16 accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--cpu-matmul: 'fp16' is not auto, fp32 or bf16"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace plotforge
