// kernels::adamw_step and sum_of_squares (the copy this CPU's instruction
// set picks) against their scalar references: the step bit for bit, at
// ragged lengths and with and without weight decay; the sum within 1e-12
// of a sequential double sum, and the same bits whatever the memory
// alignment of its start.
#include "kernels/cpu_adamw.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace plotforge::kernels {
namespace {

std::vector<float> randn(std::size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> x(n);
  for (float& v : x) v = d(rng);
  return x;
}

TEST(CpuAdamW, TheStepIsTheReferenceBitForBit) {
  std::mt19937 rng(5);
  for (const bool decays : {true, false})
    for (const std::size_t n : {1u, 7u, 16u, 33u, 1000u, 4099u}) {
      std::vector<float> w = randn(n, rng, 1), g = randn(n, rng, 1e-2f), m = randn(n, rng, 1e-3f), v(n);
      for (float& x : v) x = std::abs(randn(1, rng, 1e-4f)[0]);
      v[0] = 0;  // a moment that has seen only zeros
      std::vector<float> w2 = w, m2 = m, v2 = v;
      // Step 3 of lr 1e-3, betas (0.9, 0.99), weight decay 0.1.
      const AdamWScalars s{static_cast<float>(1 - 1e-3 * 0.1),
                           0.9f,
                           0.99f,
                           0.1f,
                           0.01f,
                           static_cast<float>(std::sqrt(1 - std::pow(0.99, 3))),
                           static_cast<float>(-(1e-3 / (1 - std::pow(0.9, 3)))),
                           1e-8f,
                           decays};
      for (int step = 0; step < 3; ++step) {
        adamw_step(w.data(), g.data(), m.data(), v.data(), static_cast<std::int64_t>(n), s);
        adamw_step_reference(w2.data(), g.data(), m2.data(), v2.data(), static_cast<std::int64_t>(n), s);
      }
      EXPECT_EQ(0, std::memcmp(w.data(), w2.data(), n * sizeof(float))) << "n " << n << " decays " << decays;
      EXPECT_EQ(0, std::memcmp(m.data(), m2.data(), n * sizeof(float))) << "n " << n;
      EXPECT_EQ(0, std::memcmp(v.data(), v2.data(), n * sizeof(float))) << "n " << n;
      EXPECT_TRUE(std::isfinite(w[0]));
    }
}

TEST(CpuAdamW, SumOfSquaresMatchesASequentialDoubleSum) {
  std::mt19937 rng(6);
  const std::vector<float> x = randn(100003, rng, 3);
  for (const std::size_t n : {0u, 1u, 7u, 8u, 9u, 1000u, 100003u}) {
    const double want = sum_of_squares_reference(x.data(), static_cast<std::int64_t>(n));
    const double got = sum_of_squares(x.data(), static_cast<std::int64_t>(n));
    EXPECT_NEAR(got, want, 1e-12 * want) << "n " << n;
  }
  // The same elements from another start address give the same bits.
  std::vector<float> shifted(x.size() + 3);
  std::copy(x.begin(), x.end(), shifted.begin() + 3);
  const double a = sum_of_squares(x.data(), 100003), b = sum_of_squares(shifted.data() + 3, 100003);
  EXPECT_EQ(0, std::memcmp(&a, &b, sizeof a));
}

}  // namespace
}  // namespace plotforge::kernels
