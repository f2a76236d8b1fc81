#include "kernels/weight_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/dtype.h"

namespace plotforge::kernels {

const char* weight_type_name(WeightType t) {
  switch (t) {
    case WeightType::kF32:
      return "f32";
    case WeightType::kBF16:
      return "bf16";
    case WeightType::kF16:
      return "f16";
    case WeightType::kQ8_0:
      return "q8_0";
  }
  return "?";
}

bool parse_weight_type(const std::string& name, WeightType* out) {
  for (WeightType t : {WeightType::kF32, WeightType::kBF16, WeightType::kF16, WeightType::kQ8_0}) {
    if (name == weight_type_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

std::size_t weight_row_bytes(WeightType t, int cols) {
  const std::size_t n = static_cast<std::size_t>(cols);
  switch (t) {
    case WeightType::kF32:
      return 4 * n;
    case WeightType::kBF16:
    case WeightType::kF16:
      return 2 * n;
    case WeightType::kQ8_0:
      return n / kQ8Block * kQ8BlockBytes;
  }
  return 0;
}

bool encode_row(const float* src, int cols, WeightType t, std::uint8_t* dst) {
  for (int k = 0; k < cols; ++k) {
    if (!std::isfinite(src[k])) return false;
  }
  switch (t) {
    case WeightType::kF32:
      std::memcpy(dst, src, 4 * static_cast<std::size_t>(cols));
      return true;
    case WeightType::kBF16:
    case WeightType::kF16:
      for (int k = 0; k < cols; ++k) {
        const std::uint16_t h = t == WeightType::kBF16 ? float_to_bf16(src[k]) : float_to_f16(src[k]);
        const bool inf = t == WeightType::kBF16 ? (h & 0x7F80u) == 0x7F80u : (h & 0x7C00u) == 0x7C00u;
        if (inf) return false;  // a finite value past the type's range
        std::memcpy(dst + 2 * k, &h, 2);
      }
      return true;
    case WeightType::kQ8_0:
      if (cols % kQ8Block != 0) return false;
      for (int b = 0; b < cols / kQ8Block; ++b) {
        const float* x = src + b * kQ8Block;
        std::uint8_t* block = dst + static_cast<std::size_t>(b) * kQ8BlockBytes;
        float amax = 0;
        for (int i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(x[i]));
        const float d = amax / 127.0f;
        const std::uint16_t dh = float_to_f16(d);
        if ((dh & 0x7C00u) == 0x7C00u) return false;
        const float id = d > 0 ? 1.0f / d : 0.0f;
        std::memcpy(block, &dh, 2);
        for (int i = 0; i < kQ8Block; ++i) {
          const long q = std::lround(x[i] * id);
          block[2 + i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q < -127 ? -127 : q > 127 ? 127 : q));
        }
      }
      return true;
  }
  return false;
}

void decode_row(const WeightMatrix& w, int r, float* dst) {
  const std::uint8_t* p = w.row(r);
  switch (w.type) {
    case WeightType::kF32:
      std::memcpy(dst, p, 4 * static_cast<std::size_t>(w.cols));
      return;
    case WeightType::kBF16:
    case WeightType::kF16:
      for (int k = 0; k < w.cols; ++k) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * k, 2);
        dst[k] = w.type == WeightType::kBF16 ? bf16_to_float(h) : f16_to_float(h);
      }
      return;
    case WeightType::kQ8_0:
      for (int b = 0; b < w.cols / kQ8Block; ++b) {
        const std::uint8_t* block = p + static_cast<std::size_t>(b) * kQ8BlockBytes;
        std::uint16_t dh;
        std::memcpy(&dh, block, 2);
        const float d = f16_to_float(dh);
        for (int i = 0; i < kQ8Block; ++i) dst[b * kQ8Block + i] = d * static_cast<std::int8_t>(block[2 + i]);
      }
      return;
  }
}

}  // namespace plotforge::kernels
