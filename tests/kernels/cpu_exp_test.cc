// kernels::exp_floats against std::exp in double, over the whole clamped
// range and at its edges, in whichever copy (AVX-512, AVX2, plain) this CPU
// runs.
#include "kernels/cpu_exp.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace plotforge::kernels {
namespace {

TEST(CpuExp, WithinFourUlpOfExpOverTheRangeAndClampedOutsideIt) {
  std::vector<float> x;
  for (float v = -90.0f; v < 90.0f; v += 0.00037f) x.push_back(v);
  for (float v : {-87.3f, 88.37f, 0.0f, -0.0f, 1e-30f, -1e-30f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), -1e30f, 1e30f})
    x.push_back(v);
  // Odd lengths and offsets: the vector loops' tails.
  for (std::size_t start : {0, 1, 3}) {
    const std::size_t n = x.size() - start;
    std::vector<float> y(n);
    exp_floats(x.data() + start, y.data(), static_cast<std::int64_t>(n));
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double clamped = std::fmin(std::fmax(double(x[start + i]), double(-87.3f)), double(88.37f));
      const double want = std::exp(clamped);
      ASSERT_TRUE(std::isfinite(y[i]) && y[i] > 0) << "x " << x[start + i];
      worst = std::fmax(worst, std::fabs(y[i] - want) / want);
    }
    EXPECT_LT(worst, 4 * std::ldexp(1.0, -24)) << "start " << start;
  }
  // In place, as the softmax calls it.
  std::vector<float> z = {0.0f, 1.0f, -2.5f};
  exp_floats(z.data(), z.data(), 3);
  EXPECT_FLOAT_EQ(z[0], 1.0f);
  EXPECT_NEAR(z[1], 2.718281828f, 1e-6);
  EXPECT_NEAR(z[2], 0.0820849986f, 1e-8);
}

}  // namespace
}  // namespace plotforge::kernels
