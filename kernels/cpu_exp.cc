#include "kernels/cpu_exp.h"

#include <cmath>
#include <cstring>

namespace plotforge::kernels {

namespace {

__attribute__((always_inline)) inline float exp_one(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 split in two, so n * kLn2Hi is exact for the n that occur.
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  // Adding and taking away 1.5 * 2^23 rounds to the nearest integer.
  constexpr float kRound = 12582912.0f;
  x = x > -87.3f ? x : -87.3f;
  x = x < 88.37f ? x : 88.37f;
  const float n = (x * kLog2e + kRound) - kRound;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  // 1 + r + r^2/2! + ... + r^7/7!, Horner.
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3"))) void exp_floats(const float* x, float* y,
                                                                                             std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_one(x[i]);
}

}  // namespace plotforge::kernels
