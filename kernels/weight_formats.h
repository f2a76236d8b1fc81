// How the runtime keeps a weight matrix in memory: float32, bfloat16, IEEE
// half, or q8_0, row-major [rows, cols], each row stored whole so a kernel
// can stream it.
//
// q8_0 is llama.cpp's 8-bit layout: each run of 32 values of a row is one
// block of 34 bytes, an IEEE half scale d followed by 32 int8 q, the value
// being d * q; d = max |x| / 127 over the block. It needs cols to be a
// multiple of 32. About 3.8x fewer bytes than float32 for a relative error
// of at most 1/254 of the block's largest value (plus d's half rounding).
//
// Raw pointers, no model code: kernels/ sits below everything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace plotforge::kernels {

enum class WeightType { kF32, kBF16, kF16, kQ8_0 };

constexpr int kQ8Block = 32;           // values per q8_0 block
constexpr int kQ8BlockBytes = 2 + 32;  // the half scale, then the int8s

// "f32", "bf16", "f16", "q8_0": the names --weights takes.
const char* weight_type_name(WeightType t);
// Parses one of those names; false if it is none of them.
bool parse_weight_type(const std::string& name, WeightType* out);

// Bytes of one row of `cols` values (cols a multiple of 32 for q8_0).
std::size_t weight_row_bytes(WeightType t, int cols);

struct WeightMatrix {
  WeightType type = WeightType::kF32;
  const std::uint8_t* data = nullptr;  // rows * weight_row_bytes(type, cols) bytes
  int rows = 0, cols = 0;
  const std::uint8_t* row(int r) const { return data + static_cast<std::size_t>(r) * weight_row_bytes(type, cols); }
  std::size_t bytes() const { return static_cast<std::size_t>(rows) * weight_row_bytes(type, cols); }
};

// Writes `cols` float32 values as one row of type t into dst
// (weight_row_bytes(t, cols) bytes). Returns false, writing nothing useful,
// if a value is not finite or a q8_0 scale would overflow a half (a block
// whose largest value passes 127 * 65504).
bool encode_row(const float* src, int cols, WeightType t, std::uint8_t* dst);

// Row r of w as float32 values (cols of them), exactly as the kernels read it.
void decode_row(const WeightMatrix& w, int r, float* dst);

}  // namespace plotforge::kernels
