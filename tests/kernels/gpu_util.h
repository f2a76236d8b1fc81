// Helpers for GPU tests and benchmarks: device buffers, host-side rounding
// to bf16/fp16, error norms.
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

#include "kernels/attention_shape.h"

namespace plotforge::kernels::testing {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

inline bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) { check(cudaMalloc(&p_, bytes ? bytes : 1), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return p_; }
  std::size_t bytes() const { return bytes_; }
  void upload(const void* src) { check(cudaMemcpy(p_, src, bytes_, cudaMemcpyHostToDevice), "upload"); }
  void download(void* dst) const { check(cudaMemcpy(dst, p_, bytes_, cudaMemcpyDeviceToHost), "download"); }
  void poison() { check(cudaMemset(p_, 0xFF, bytes_), "poison"); }  // NaN in bf16, fp16 and fp32

 private:
  void* p_ = nullptr;
  std::size_t bytes_;
};

// Rounds to the 16-bit type (nearest even) and returns the bits.
inline std::uint16_t to_half_bits(float f, DType t) {
  if (t == DType::kFP16) {
    const __half h = __float2half_rn(f);
    std::uint16_t u;
    std::memcpy(&u, &h, 2);
    return u;
  }
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

inline float from_half_bits(std::uint16_t u, DType t) {
  if (t == DType::kFP16) {
    __half h;
    std::memcpy(&h, &u, 2);
    return __half2float(h);
  }
  const std::uint32_t w = static_cast<std::uint32_t>(u) << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
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
