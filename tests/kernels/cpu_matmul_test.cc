// The CPU matrix-product kernels (kernels/cpu_matmul.h) against their
// float64 reference, on every instruction set this CPU runs, every weight
// type, ragged shapes and batches 1-64; and the weight formats' round trips
// at their edges (kernels/weight_formats.h, base/dtype.h's half).
#include "kernels/cpu_matmul.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "base/dtype.h"

namespace plotforge::kernels {
namespace {

// The CPU's own float -> half conversion (F16C), for the cross-check.
__attribute__((target("f16c"))) std::uint16_t hardware_f16(float f) {
  return static_cast<std::uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}

std::vector<CpuIsa> runnable_isas() {
  const CpuFeatures& f = cpu_features();
  std::vector<CpuIsa> out{CpuIsa::kPortable};
  if (f.avx2 && f.fma && f.f16c) out.push_back(CpuIsa::kAvx2);
  if (f.avx512() && f.fma && f.f16c) out.push_back(CpuIsa::kAvx512);
  if (f.avx512() && f.avx512_bf16) out.push_back(CpuIsa::kAvx512Bf16);
  if (f.avx512() && f.avx512_vnni) out.push_back(CpuIsa::kAvx512Vnni);
  return out;
}

struct Encoded {
  std::vector<std::uint8_t> bytes;
  WeightMatrix w;
};

Encoded encode(const std::vector<float>& values, int rows, int cols, WeightType t) {
  Encoded e;
  e.bytes.resize(rows * weight_row_bytes(t, cols));
  for (int r = 0; r < rows; ++r) {
    EXPECT_TRUE(encode_row(values.data() + static_cast<std::size_t>(r) * cols, cols, t,
                           e.bytes.data() + r * weight_row_bytes(t, cols)));
  }
  e.w = {t, e.bytes.data(), rows, cols};
  return e;
}

// kAvx512Vnni's bound for rounding x to q8_0: sum_k |w_k| * amax_k / 254,
// amax_k the largest |x| in k's block of 32 (half a step of the block's
// scale amax / 127).
double quantisation_error(const WeightMatrix& w, const float* x, int row) {
  std::vector<float> wr(w.cols);
  decode_row(w, row, wr.data());
  double err = 0;
  for (int b = 0; b < w.cols / 32; ++b) {
    double amax = 0, wsum = 0;
    for (int k = b * 32; k < b * 32 + 32; ++k) {
      amax = std::max(amax, std::fabs(double(x[k])));
      wsum += std::fabs(double(wr[k]));
    }
    err += wsum * amax / 254;
  }
  return err;
}

TEST(CpuMatmul, EveryIsaAndTypeMatchesTheReferenceAtRaggedShapes) {
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.f, 1.f);
  const std::vector<CpuIsa> isas = runnable_isas();
  std::printf("instruction sets tested here:");
  for (CpuIsa isa : isas) std::printf(" %s", cpu_isa_name(isa));
  std::printf("\n");
  for (WeightType t : {WeightType::kF32, WeightType::kBF16, WeightType::kF16, WeightType::kQ8_0}) {
    // q8_0 needs whole blocks of 32 columns; the rest take any width.
    const std::vector<int> widths = t == WeightType::kQ8_0 ? std::vector<int>{32, 96, 160, 768}
                                                           : std::vector<int>{1, 7, 15, 16, 17, 31, 33, 100, 768};
    for (int cols : widths) {
      for (int n : {1, 2, 3, 4, 5, 8, 9, 17, 33, 64}) {
        // 29 rows split 11 + 18: at batch 1 the AVX-512 kernels take four
        // rows at a time from the quarters of each slice (2 and 4 rows
        // apart), with 3 and 2 rows left over.
        const int rows = 29, split = 11;
        std::vector<float> wv(static_cast<std::size_t>(rows) * cols), x(static_cast<std::size_t>(n) * cols);
        for (float& v : wv) v = d(rng);
        for (float& v : x) v = d(rng);
        const Encoded e = encode(wv, rows, cols, t);
        const int ldy = rows + 3;  // a stride past the rows: the kernels must leave the gap alone
        std::vector<double> ref(static_cast<std::size_t>(n) * ldy), abs_sum(ref.size());
        matmul_rows_reference(e.w, x.data(), n, ref.data(), abs_sum.data(), ldy, 0, rows);
        for (CpuIsa isa : isas) {
          std::vector<float> y(ref.size(), -12345.f);
          // Two disjoint row ranges, as two threads would split the call.
          matmul_rows(e.w, x.data(), n, y.data(), ldy, 0, split, isa);
          matmul_rows(e.w, x.data(), n, y.data(), ldy, split, rows, isa);
          const bool rounds_x = isa == CpuIsa::kAvx512Bf16 && t == WeightType::kBF16;
          const bool quantises_x = isa == CpuIsa::kAvx512Vnni && t == WeightType::kQ8_0;
          for (int i = 0; i < n; ++i) {
            for (int r = 0; r < ldy; ++r) {
              const std::size_t o = static_cast<std::size_t>(i) * ldy + r;
              if (r >= rows) {
                ASSERT_EQ(y[o], -12345.f) << "wrote past its rows";
                continue;
              }
              double tol = (cols / 4 + 8) * std::ldexp(1.0, -24) * abs_sum[o];
              if (rounds_x) tol += std::ldexp(1.0, -8) * abs_sum[o];
              if (quantises_x) tol += 1.001 * quantisation_error(e.w, x.data() + static_cast<std::size_t>(i) * cols, r);
              ASSERT_NEAR(y[o], ref[o], tol) << cpu_isa_name(isa) << " " << weight_type_name(t) << " cols " << cols
                                             << " n " << n << " row " << r << " batch row " << i;
            }
          }
        }
      }
    }
  }
}

TEST(CpuMatmul, AReductionIsTheSameWhateverTheBatch) {
  // A sequence's logits must not depend on who it is batched with: every
  // kernel sums a row's products in the same order for any n.
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  const int rows = 9, cols = 224;  // q8_0: 7 blocks, an odd count (the VNNI path's last pair is half)
  std::vector<float> wv(rows * cols), x(33 * cols);
  for (float& v : wv) v = d(rng);
  for (float& v : x) v = d(rng);
  for (WeightType t : {WeightType::kF32, WeightType::kBF16, WeightType::kF16, WeightType::kQ8_0}) {
    const Encoded e = encode(wv, rows, cols, t);
    for (CpuIsa isa : runnable_isas()) {
      std::vector<float> batch(33 * rows), alone(rows);
      matmul_rows(e.w, x.data(), 33, batch.data(), rows, 0, rows, isa);
      for (int i = 0; i < 33; ++i) {
        matmul_rows(e.w, x.data() + i * cols, 1, alone.data(), rows, 0, rows, isa);
        for (int r = 0; r < rows; ++r) ASSERT_EQ(batch[i * rows + r], alone[r]) << cpu_isa_name(isa) << " row " << i;
      }
    }
  }
}

TEST(CpuMatmul, WideningGivesDecodeRowsValuesExactly) {
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.f, 1.f);
  for (WeightType t : {WeightType::kBF16, WeightType::kF16, WeightType::kQ8_0}) {
    for (int cols : {32, 96, 100, 7}) {
      if (t == WeightType::kQ8_0 && cols % 32) continue;
      const int rows = 5;
      std::vector<float> wv(rows * cols);
      for (float& v : wv) v = d(rng);
      const Encoded e = encode(wv, rows, cols, t);
      std::vector<float> want(rows * cols);
      for (int r = 0; r < rows; ++r) decode_row(e.w, r, &want[r * cols]);
      for (CpuIsa isa : runnable_isas()) {
        std::vector<float> got(3 * cols, -1.f);
        widen_rows(e.w, 1, 4, got.data(), isa);
        for (int i = 0; i < 3 * cols; ++i) ASSERT_EQ(got[i], want[cols + i]) << cpu_isa_name(isa) << " " << i;
      }
    }
  }
}

TEST(WeightFormats, HalfConversionIsExactAndRoundsToNearestEven) {
  // Every half survives the round trip (NaNs stay NaNs).
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(f16_to_float(float_to_f16(f)))) << h;
    } else {
      ASSERT_EQ(float_to_f16(f), h) << h;
    }
  }
  // Edges by hand: the largest half, the first value that rounds to
  // infinity, the smallest subnormal, a tie between subnormals (to even).
  EXPECT_EQ(float_to_f16(65504.f), 0x7BFF);
  EXPECT_EQ(float_to_f16(65519.f), 0x7BFF);
  EXPECT_EQ(float_to_f16(65520.f), 0x7C00);
  EXPECT_EQ(float_to_f16(-1e30f), 0xFC00);
  EXPECT_EQ(float_to_f16(std::ldexp(1.f, -24)), 0x0001);
  EXPECT_EQ(float_to_f16(std::ldexp(1.f, -25)), 0x0000);        // a tie: to the even zero
  EXPECT_EQ(float_to_f16(std::ldexp(3.f, -25)), 0x0002);        // 1.5 units: to even 2
  EXPECT_EQ(float_to_f16(1.f + std::ldexp(1.f, -11)), 0x3C00);  // a tie between 1 and its successor
  EXPECT_EQ(float_to_f16(1.f + std::ldexp(3.f, -11)), 0x3C02);  // to even
  // Against the CPU's own conversion (F16C), where it has one.
  if (cpu_features().f16c) {
    std::mt19937 rng(1);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 200000; ++i) {
      std::uint32_t u = bits(rng);
      float f;
      std::memcpy(&f, &u, 4);
      if (std::isnan(f)) continue;
      ASSERT_EQ(float_to_f16(f), hardware_f16(f)) << f;
    }
  }
}

TEST(WeightFormats, Q8RoundTripWithinItsBound) {
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> x(256);
  for (float& v : x) v = d(rng);
  x[40] = 0;
  std::fill(x.begin() + 64, x.begin() + 96, 0.f);  // an all-zero block: scale 0
  x[100] = 1e-30f;                                 // tiny values beside ordinary ones
  x[130] = -1000.f;                                // one large value: the block's scale follows it
  std::vector<std::uint8_t> bytes(weight_row_bytes(WeightType::kQ8_0, 256));
  ASSERT_EQ(bytes.size(), 8u * 34u);
  ASSERT_TRUE(encode_row(x.data(), 256, WeightType::kQ8_0, bytes.data()));
  std::vector<float> back(256);
  decode_row({WeightType::kQ8_0, bytes.data(), 1, 256}, 0, back.data());
  for (int b = 0; b < 8; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    for (int i = 0; i < 32; ++i) {
      // Half a step of amax / 127, plus the half scale's rounding of up to 2^-11 over 127 steps.
      ASSERT_NEAR(back[b * 32 + i], x[b * 32 + i], amax / 254 + amax * std::ldexp(1.f, -11) * 1.01f)
          << "block " << b << " value " << i;
    }
  }
  for (int i = 64; i < 96; ++i) EXPECT_EQ(back[i], 0.f);
  EXPECT_FLOAT_EQ(back[130], -1000.f * f16_to_float(float_to_f16(1000.f / 127)) * 127 / 1000.f);
}

TEST(WeightFormats, EncodingRefusesWhatTheTypeCannotHold) {
  std::vector<std::uint8_t> out(64 * 4);
  std::vector<float> x(32, 1.f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  for (WeightType t : {WeightType::kF32, WeightType::kBF16, WeightType::kF16, WeightType::kQ8_0})
    EXPECT_FALSE(encode_row(x.data(), 32, t, out.data())) << weight_type_name(t) << ": NaN";
  x[3] = 70000.f;  // past the half's range
  EXPECT_FALSE(encode_row(x.data(), 32, WeightType::kF16, out.data()));
  EXPECT_TRUE(encode_row(x.data(), 32, WeightType::kBF16, out.data()));
  EXPECT_TRUE(encode_row(x.data(), 32, WeightType::kQ8_0, out.data()));  // scale 70000/127 fits a half
  x[3] = 1e7f;                                                           // scale 1e7/127 does not
  EXPECT_FALSE(encode_row(x.data(), 32, WeightType::kQ8_0, out.data()));
  EXPECT_FALSE(encode_row(x.data(), 30, WeightType::kQ8_0, out.data())) << "cols not a multiple of 32";
  WeightType t;
  EXPECT_TRUE(parse_weight_type("q8_0", &t));
  EXPECT_EQ(t, WeightType::kQ8_0);
  EXPECT_FALSE(parse_weight_type("q4_0", &t));
}

}  // namespace
}  // namespace plotforge::kernels
