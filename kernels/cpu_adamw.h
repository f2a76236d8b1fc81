// The optimizer's loops over a parameter's floats on the CPU: AdamW's step
// and the sum of squares gradient clipping needs. One loop each, compiled
// per instruction set (AVX-512, AVX2, plain x86-64) and chosen at load time
// (GCC's target_clones), with a scalar reference beside each.
//
// Why here: they stream every parameter, gradient and moment once a step;
// compiled for plain x86-64 the step ran its square root and two divisions
// one float at a time (8% of a shakespeare-char step's samples, and 3.6% for
// the norm: docs/perf/training-cpu.md).
//
// Exactness: the file is compiled without FMA contraction, so every copy of
// adamw_step does each float's operations in the reference's order and
// rounding (IEEE square root and division are exact in every vector width):
// the same bits as adamw_step_reference on every instruction set.
// sum_of_squares adds in double in eight interleaved partial sums (element
// i into sum i mod 8), combined in a fixed order: the same bits on every
// instruction set too, and within 1e-12 relative of a sequential double sum.
#pragma once

#include <cstdint>

namespace plotforge::kernels {

// One step's scalars, rounded to float where torch's AdamW kernels round
// them (training/optimizer.cc computes them).
struct AdamWScalars {
  float decay;      // 1 - lr * weight_decay (applied only when decays)
  float b1, b2;     // beta1, beta2
  float a1, a2;     // 1 - beta1, 1 - beta2
  float root_bc2;   // sqrt(1 - beta2^step)
  float step_size;  // -lr / (1 - beta1^step)
  float eps;
  bool decays;
};

// For i < n: w decayed, m and v updated, w moved, as torch's AdamW:
//   m = m*b1 + a1*g;  v = v*b2 + a2*g*g;
//   w = w*decay + step_size * m / (sqrt(v)/root_bc2 + eps)
void adamw_step(float* w, const float* g, float* m, float* v, std::int64_t n, const AdamWScalars& s);
void adamw_step_reference(float* w, const float* g, float* m, float* v, std::int64_t n, const AdamWScalars& s);

// sum_i x[i]^2 in double.
double sum_of_squares(const float* x, std::int64_t n);
double sum_of_squares_reference(const float* x, std::int64_t n);  // one running double

}  // namespace plotforge::kernels
