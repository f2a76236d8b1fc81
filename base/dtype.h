// Element types, and the one float32 <-> bfloat16 and float32 <-> IEEE
// half conversion everything uses (the exporter, the runtime's loaders and
// kernels, the CUDA engine, the GPU tests).
//
// Header-only and free of other plotforge code, so kernels/ (built alone
// for the GPU check) and nvcc-compiled files can include it.
//
// bfloat16 is float32's top 16 bits. float_to_bf16 rounds to nearest, ties
// to even; finite values too large for bfloat16 round to infinity (as IEEE
// rounding must); infinities stay infinities; and a NaN stays a NaN of the
// same sign with its top payload bits, quieted (0x0040 set) so that a
// signalling NaN whose payload lies only in the dropped bits cannot turn into
// an infinity.
#pragma once

#include <cstdint>
#include <cstring>

namespace plotforge {

// The safetensors dtypes plotforge reads and writes; kernels take kBF16 or
// kF16.
enum class DType { kF32, kBF16, kF16, kI32, kI64, kU8 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kBF16:
    case DType::kF16:
      return 2;
    case DType::kI64:
      return 8;
    case DType::kU8:
      return 1;
  }
  return 0;
}

// The safetensors spelling: "F32", "BF16", "F16", "I32", "I64", "U8".
constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kBF16:
      return "BF16";
    case DType::kF16:
      return "F16";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
    case DType::kU8:
      return "U8";
  }
  return "?";
}

inline std::uint16_t float_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) {
    return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // NaN: keep sign and top payload, quiet
  }
  u += 0x7FFFu + ((u >> 16) & 1u);  // round to nearest, ties to even (infinities are unchanged)
  return static_cast<std::uint16_t>(u >> 16);
}

inline float bf16_to_float(std::uint16_t b) {
  const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE binary16. float_to_f16 rounds to nearest, ties to even, subnormals
// included; values from 65520 up round to infinity; a NaN stays a quiet NaN
// of the same sign with its top payload bits. f16_to_float is exact.
inline std::uint16_t float_to_f16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u | ((a >> 13) & 0x3FFu));  // NaN
  if (a >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // past 65504 + half an ulp: infinity
  if (a >= 0x38800000u) {  // a normal half (2^-14 and up): rebias the exponent, round off 13 bits
    a += 0xC8000FFFu + ((a >> 13) & 1u);
    return static_cast<std::uint16_t>(sign | (a >> 13));
  }
  // A subnormal half or zero, in units of 2^-24: scale exactly, round the
  // integer part to nearest even by adding and removing 2^23 in float.
  float v;
  std::memcpy(&v, &a, 4);
  const float units = v * 16777216.0f + 8388608.0f;  // exact scale; the add rounds to an integer
  std::uint32_t ub;
  std::memcpy(&ub, &units, 4);
  return static_cast<std::uint16_t>(sign | (ub & 0x7FFu));
}

inline float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  std::uint32_t u;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    std::memcpy(&u, &v, 4);
    u |= sign;
  } else if (exp == 31) {
    u = sign | 0x7F800000u | (mant << 13);
  } else {
    u = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace plotforge
