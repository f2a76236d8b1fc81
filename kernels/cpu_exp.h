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

namespace plotforge::kernels {

// y[i] = exp(x[i]) for i < n; x and y may be the same array.
void exp_floats(const float* x, float* y, std::int64_t n);

}  // namespace plotforge::kernels
