// float32 <-> bfloat16 over arrays, vectorised: the casts around the bf16
// matrix products of CPU training (models/projection.h) and the runtime's
// bf16 activations (cpu_matmul.cc). Each element is exactly
// base/dtype.h's float_to_bf16 / bf16_to_float: round to nearest, ties to
// even; a NaN stays a quiet NaN of its sign; widening is exact.
//
// Instruction sets: one source compiled for AVX-512, AVX2 and plain x86-64,
// the copy picked when the program loads (target_clones), as cpu_exp.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plotforge::kernels {

void floats_to_bf16(const float* x, std::size_t count, std::uint16_t* out);
void bf16_to_floats(const std::uint16_t* x, std::size_t count, float* out);

}  // namespace plotforge::kernels
