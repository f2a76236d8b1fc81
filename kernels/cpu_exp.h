// exp over an array of floats, vectorised: the softmax and SiLU of the
// fused CPU training ops (models/fused_cpu.h) call it on every score and
// every gate, where libm's scalar expf would cost more than the matrix
// products around it.
//
// Method: x = n ln2 + r with n an integer and |r| <= ln2 / 2, exp(r) by its
// Taylor polynomial to r^7 (truncation under 2^-24 relative on that range),
// times 2^n built in the exponent bits. Inputs are clamped to
// [-87.3, 88.37], so the result is never 0, a denormal or infinite:
// exp(-inf) reads as about 1.2e-38 (callers that need an exact 0 for a
// masked score write it themselves).
//
// Accuracy, against std::exp in double (tests/cpu_exp_test.cc): within
// 4 * 2^-24 relative over the clamped range.
//
// Instruction sets: one source, compiled by GCC for AVX-512, AVX2 and plain
// x86-64, the copy picked when the program loads (target_clones).
#pragma once

#include <cstdint>
#include <cstring>

namespace plotforge::kernels {

// exp_floats' computation on one float, or lane by lane on a GCC vector of
// floats (vector_size) with I the int32 vector of its width, for kernels
// that inline it into their own vectorised loops
// (kernels/cpu_paged_attention.cc). fma(a, b, c) is a * b + c: by default
// as written (the compiler fuses it or not); a kernel that must know
// passes its own.
struct MulAdd {
  template <typename F>
  F operator()(F a, F b, F c) const {
    return a * b + c;
  }
};

template <typename F, typename I = std::int32_t, typename Fma = MulAdd>
__attribute__((always_inline)) inline F exp_lane(F x, Fma fma = {}) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 split in two, so n * kLn2Hi is exact for the n that occur.
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  // Adding and taking away 1.5 * 2^23 rounds to the nearest integer.
  constexpr float kRound = 12582912.0f;
  const F zero = F{};
  x = x > -87.3f ? x : zero - 87.3f;
  x = x < 88.37f ? x : zero + 88.37f;
  const F n = fma(x, zero + kLog2e, zero + kRound) - kRound;
  const F r = fma(zero - n, zero + kLn2Lo, fma(zero - n, zero + kLn2Hi, x));
  // 1 + r + r^2/2! + ... + r^7/7!, Horner.
  F p = fma(r, zero + 1.0f / 5040, zero + 1.0f / 720);
  p = fma(p, r, zero + 1.0f / 120);
  p = fma(p, r, zero + 1.0f / 24);
  p = fma(p, r, zero + 1.0f / 6);
  p = fma(p, r, zero + 0.5f);
  p = fma(p, r, zero + 1.0f);
  p = fma(p, r, zero + 1.0f);
  F scale;
  if constexpr (sizeof(F) == sizeof(float)) {
    const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
    std::memcpy(&scale, &bits, sizeof scale);
  } else {
    const I bits = (__builtin_convertvector(n, I) + 127) << 23;
    std::memcpy(&scale, &bits, sizeof scale);
  }
  return p * scale;
}

// y[i] = exp(x[i]) for i < n; x and y may be the same array.
void exp_floats(const float* x, float* y, std::int64_t n);

}  // namespace plotforge::kernels
