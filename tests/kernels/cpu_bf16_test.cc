// kernels::floats_to_bf16 / bf16_to_floats against base/dtype.h's scalar
// conversions, in whichever copy (AVX-512, AVX2, plain) this CPU runs: every
// bf16 value's neighbourhood, ties, NaNs, infinities and ragged lengths.
#include "kernels/cpu_bf16.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "base/dtype.h"

namespace plotforge::kernels {
namespace {

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(CpuBf16, NarrowingIsTheScalarRoundingForEveryHighHalfAndItsTies) {
  // Each of the 65536 high halves (every sign, exponent, infinity and NaN)
  // with the low halves that decide the rounding: zero, one, just under a
  // tie, the tie, just over it and all ones.
  std::vector<float> x;
  for (std::uint32_t hi = 0; hi < 65536; ++hi)
    for (std::uint32_t lo : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu})
      x.push_back(from_bits(hi << 16 | lo));
  for (std::size_t start : {0, 1, 5}) {  // the vector loops' tails
    const std::size_t n = x.size() - start - 3;
    std::vector<std::uint16_t> got(n + 1, 0xABCD);
    floats_to_bf16(x.data() + start, n, got.data());
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t u;
      std::memcpy(&u, &x[start + i], 4);
      ASSERT_EQ(got[i], float_to_bf16(x[start + i])) << std::hex << "bits 0x" << u;
    }
    EXPECT_EQ(got[n], 0xABCD) << "wrote past count";
  }
}

TEST(CpuBf16, WideningIsExactAndRoundTrips) {
  std::vector<std::uint16_t> b(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) b[i] = static_cast<std::uint16_t>(i);
  std::vector<float> f(b.size());
  bf16_to_floats(b.data(), b.size(), f.data());
  std::vector<std::uint16_t> back(b.size());
  floats_to_bf16(f.data(), f.size(), back.data());
  for (std::uint32_t i = 0; i < 65536; ++i) {
    std::uint32_t u;
    std::memcpy(&u, &f[i], 4);
    ASSERT_EQ(u, i << 16);
    const bool nan = (i & 0x7F80u) == 0x7F80u && (i & 0x7Fu) != 0;
    ASSERT_EQ(back[i], nan ? (i | 0x40u) : i) << std::hex << "bf16 0x" << i;  // NaNs come back quiet
  }
}

}  // namespace
}  // namespace plotforge::kernels
