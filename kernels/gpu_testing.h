// Helpers for GPU tests and benchmarks: host-side rounding to bf16/fp16,
// random data, error norms (device buffers and checks: kernels/cuda_common.h).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "kernels/attention_shape.h"
#include "kernels/cuda_common.h"

namespace plotforge::kernels::testing {

using kernels::DeviceBuffer;
using kernels::have_gpu;

// Rounds to the 16-bit type (nearest even) and returns the bits.
inline std::uint16_t to_half_bits(float f, DType t) {
  if (t == DType::kF16) {
    const __half h = __float2half_rn(f);
    std::uint16_t u;
    std::memcpy(&u, &h, 2);
    return u;
  }
  return float_to_bf16(f);
}

inline float from_half_bits(std::uint16_t u, DType t) {
  if (t == DType::kF16) {
    __half h;
    std::memcpy(&h, &u, 2);
    return __half2float(h);
  }
  return bf16_to_float(u);
}

// Random N(0,1) data rounded to the type: `bits` for the device, `values`
// (the rounded values as float) for the reference.
struct HalfData {
  std::vector<std::uint16_t> bits;
  std::vector<float> values;
};

inline HalfData random_half(std::size_t n, DType t, std::mt19937& rng) {
  std::normal_distribution<float> d;
  HalfData h;
  h.bits.resize(n);
  h.values.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    h.bits[i] = to_half_bits(d(rng), t);
    h.values[i] = from_half_bits(h.bits[i], t);
  }
  return h;
}

// ||out - ref|| / ||ref||, or +inf if out has a NaN (an unwritten element).
inline double relative_error(const std::vector<float>& out, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (std::isnan(out[i])) return INFINITY;
    num += (static_cast<double>(out[i]) - ref[i]) * (static_cast<double>(out[i]) - ref[i]);
    den += static_cast<double>(ref[i]) * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

}  // namespace plotforge::kernels::testing
