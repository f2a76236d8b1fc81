// The base library: dtypes and the bf16 conversion at its edges, file
// helpers, the safetensors reader on good, truncated and hostile files, and
// the huge-page arena.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/files.h"
#include "base/huge_pages.h"
#include "base/safetensors.h"
#include "base/settings.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

std::string file_with_header(const std::string& header, std::size_t data_bytes, std::uint64_t claimed = 0) {
  const std::uint64_t n = claimed ? claimed : header.size();
  std::string s(reinterpret_cast<const char*>(&n), 8);
  s += header;
  s += std::string(data_bytes, '\0');
  return s;
}

std::string error_of(const std::string& bytes) {
  const std::string path = testing::temp_dir("st") + "/f.safetensors";
  testing::write_text(path, bytes);
  try {
    SafetensorsFile::open(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, WriteThenReadRoundTrip) {
  const std::string path = testing::temp_dir("st-rt") + "/m.safetensors";
  std::vector<TensorToWrite> ts(2);
  ts[0] = {"a", DType::kF32, {2, 3}, std::vector<std::uint8_t>(24)};
  for (int i = 0; i < 6; ++i) {
    const float f = i * 1.5f;
    std::memcpy(ts[0].bytes.data() + 4 * i, &f, 4);
  }
  ts[1] = {"b", DType::kBF16, {3}, std::vector<std::uint8_t>(6, 0x3F)};
  write_safetensors(path, ts, {{"k", "v"}});
  const auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata().at("k"), "v");
  const auto& a = f.at("a");
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(reinterpret_cast<const float*>(a.data)[5], 7.5f);
  EXPECT_EQ(f.at("b").dtype, DType::kBF16);
  EXPECT_THROW(f.at("c"), InputError);
}

TEST(Safetensors, TensorsOfWholeLinesStartOnALine) {
  // Sizes in bytes: 24 (not whole lines) first, then 64, 8, 3072. The
  // writer lays out the whole-line ones first, so each starts on a 64-byte
  // line of the file (the mapping starts on a page).
  const std::string path = testing::temp_dir("st-align") + "/m.safetensors";
  std::vector<TensorToWrite> ts = {{"odd", DType::kF32, {6}, std::vector<std::uint8_t>(24, 1)},
                                   {"line", DType::kF32, {16}, std::vector<std::uint8_t>(64, 2)},
                                   {"tiny", DType::kBF16, {4}, std::vector<std::uint8_t>(8, 3)},
                                   {"matrix", DType::kF32, {4, 192}, std::vector<std::uint8_t>(3072, 4)}};
  write_safetensors(path, ts, {});
  const auto f = SafetensorsFile::open(path);
  for (const char* name : {"line", "matrix"})
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f.at(name).data) % 64, 0u) << name;
  for (const auto& t : ts) {
    const TensorView& v = f.at(t.name);
    ASSERT_EQ(v.bytes, t.bytes.size());
    EXPECT_EQ(std::memcmp(v.data, t.bytes.data(), v.bytes), 0) << t.name;
  }
}

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Slices of many sizes, one past a chunk, each on a line, zero until
// written and apart from every other.
TEST(HugePageArena, SlicesAreOnALineZeroedAndApart) {
  HugePageArena arena;
  const std::vector<std::size_t> sizes = {1, 100, 64, 3 << 20, 63 << 20, 70 << 20, 5};
  std::vector<std::uint8_t*> slices;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::uint8_t* p = arena.allocate(sizes[i]);
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << "slice " << i;
    for (std::size_t k = 0; k < sizes[i]; k += 4093) ASSERT_EQ(p[k], 0) << "slice " << i << " byte " << k;
    ASSERT_EQ(p[sizes[i] - 1], 0);
    std::memset(p, static_cast<int>(i + 1), sizes[i]);
    slices.push_back(p);
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(slices[i][0], i + 1) << "slice " << i;
    EXPECT_EQ(slices[i][sizes[i] - 1], i + 1) << "slice " << i;
  }
}

std::size_t vmstat(const std::string& key) {
  std::ifstream f("/proc/vmstat");
  std::string k;
  std::size_t v = 0;
  while (f >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

// Where the kernel gives huge pages to memory that asks, the arena's is on
// them (a kernel with no free 2 MB page to give says so in
// thp_fault_fallback, and the test skips).
TEST(HugePageArena, WrittenMemoryIsOnHugePages) {
  if (!huge_pages_available()) GTEST_SKIP() << "transparent huge pages are off on this machine";
  const std::size_t before = resident_on_huge_pages(), fallback = vmstat("thp_fault_fallback");
  HugePageArena arena;
  const std::size_t n = 16 << 20;
  std::uint8_t* p = arena.allocate(n);
  std::memset(p, 7, n);
  const std::size_t after = resident_on_huge_pages();
  if (after < before + n / 2 && vmstat("thp_fault_fallback") > fallback) {
    GTEST_SKIP() << "the kernel had no free huge pages (thp_fault_fallback rose)";
  }
  EXPECT_GE(after, before + n / 2) << "16 MB written, " << (after - before) / 1e6 << " MB more on huge pages";
}

TEST(BF16, ExactValuesRoundTrip) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000);  // the sign of zero is kept
  EXPECT_EQ(bf16_to_float(float_to_bf16(3.140625f)), 3.140625f);
  EXPECT_EQ(float_to_bf16(from_bits(0x00010000u)), 0x0001);  // smallest bf16 subnormal
}

TEST(BF16, RoundsToNearestTiesToEven) {
  // 1 + 2^-8 lies halfway between 0x3F80 and 0x3F81: the even one wins.
  EXPECT_EQ(float_to_bf16(from_bits(0x3F808000u)), 0x3F80);
  // Halfway between 0x3F81 and 0x3F82: up to the even 0x3F82.
  EXPECT_EQ(float_to_bf16(from_bits(0x3F818000u)), 0x3F82);
  // Just above and below halfway.
  EXPECT_EQ(float_to_bf16(from_bits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(float_to_bf16(from_bits(0x3F807FFFu)), 0x3F80);
  EXPECT_EQ(float_to_bf16(from_bits(0xBF818000u)), 0xBF82);  // negative values mirror
  // A carry out of the mantissa raises the exponent.
  EXPECT_EQ(float_to_bf16(from_bits(0x3FFFFFFFu)), 0x4000);
}

TEST(BF16, InfinitiesAndOverflow) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(float_to_bf16(inf), 0x7F80);
  EXPECT_EQ(float_to_bf16(-inf), 0xFF80);
  // The largest float is beyond bf16's largest finite value: to infinity.
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  // bf16's largest finite value stays finite.
  EXPECT_EQ(float_to_bf16(from_bits(0x7F7F0000u)), 0x7F7F);
}

TEST(BF16, NaNStaysNaNWithItsSignAndTopPayload) {
  const std::uint32_t nans[] = {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu, 0x7FA00000u};
  for (std::uint32_t u : nans) {
    const std::uint16_t b = float_to_bf16(from_bits(u));
    EXPECT_TRUE(std::isnan(bf16_to_float(b))) << std::hex << u;
    EXPECT_EQ(b & 0x8000, (u >> 16) & 0x8000) << std::hex << u;  // sign kept
    EXPECT_EQ(b & 0x0040, 0x0040) << std::hex << u;              // quiet
  }
  // A payload in the top bits survives (0x7FA0: signalling, payload 0x20).
  EXPECT_EQ(float_to_bf16(from_bits(0x7FA00000u)), 0x7FE0);
  // A signalling NaN whose payload lies only in the dropped bits would turn
  // into an infinity under truncation.
  EXPECT_EQ(float_to_bf16(from_bits(0x7F800001u)), 0x7FC0);
}

TEST(DType, NamesAndSizes) {
  EXPECT_STREQ(dtype_name(DType::kBF16), "BF16");
  EXPECT_STREQ(dtype_name(DType::kU8), "U8");
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kF16), 2u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
}

struct ProbeSettings {
  int count = 3;
  float scale = 0.5f;
  std::uint64_t seed = 7;
  bool on = true;
  std::string name = "x";
  template <class V>
  void fields(V&& v) {
    v("count", count, "an int");
    v("scale", scale, "a float");
    v("seed", seed, "an unsigned");
    v("on", on, "a bool", flag());
    v("name", name, "a string");
  }
};

TEST(Settings, JsonRoundTripAndRefusalsNameTheField) {
  ProbeSettings s;
  s.count = -4;
  s.scale = 2.25f;
  s.name = "y";
  ProbeSettings back;
  from_json(to_json(s), &back, "probe");
  EXPECT_EQ(back.count, -4);
  EXPECT_EQ(back.scale, 2.25f);
  EXPECT_EQ(back.name, "y");
  ProbeSettings kept;
  from_json(nlohmann::json::object(), &kept, "probe");  // absent fields keep their values
  EXPECT_EQ(kept.count, 3);
  auto error_of = [](const std::string& text, bool require_all = false) {
    ProbeSettings p;
    try {
      from_json(nlohmann::json::parse(text), &p, "f.json", require_all);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"({"count": 1099511627776})").find("f.json: field 'count'"), std::string::npos);
  EXPECT_NE(error_of(R"({"count": 1.5})").find("'count'"), std::string::npos);
  EXPECT_NE(error_of(R"({"scale": 1e300})").find("'scale' must be a finite number"), std::string::npos);
  EXPECT_NE(error_of(R"({"seed": -1})").find("'seed'"), std::string::npos);
  EXPECT_NE(error_of(R"({"on": 1})").find("'on' must be true or false"), std::string::npos);
  EXPECT_NE(error_of(R"({"name": 3})").find("'name' must be a string"), std::string::npos);
  EXPECT_NE(error_of(R"({"count": 1})", true).find("field 'scale' is missing"), std::string::npos);
  EXPECT_EQ(error_of(R"({"seed": 18446744073709551615, "count": -2147483648, "scale": -3.0e38})"), "");
}

TEST(Files, IntListsAreWholeNumbersAtLeastMin) {
  EXPECT_EQ(parse_int_list("1,8,32", "--b"), (std::vector<int>{1, 8, 32}));
  for (const char* bad : {"1,,2", "0", "1.5", "x", "", "3,-1"}) {
    try {
      parse_int_list(bad, "--batch-sizes");
      FAIL() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--batch-sizes"), std::string::npos) << e.what();
    }
  }
}

TEST(Files, ReadFileNamesAMissingPath) {
  try {
    read_file("/nonexistent/plotforge/x.txt");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/plotforge/x.txt: no such file"), std::string::npos);
  }
}

TEST(Safetensors, ToFloat32WidensBf16AndRefusesOtherTypes) {
  const std::string path = testing::temp_dir("st-f32") + "/m.safetensors";
  std::vector<TensorToWrite> ts(3);
  ts[0] = {"f", DType::kF32, {2}, std::vector<std::uint8_t>(8)};
  const float f[2] = {1.5f, -2.25f};
  std::memcpy(ts[0].bytes.data(), f, 8);
  ts[1] = {"b", DType::kBF16, {2}, std::vector<std::uint8_t>(4)};
  const std::uint16_t b[2] = {float_to_bf16(3.0f), float_to_bf16(-0.5f)};
  std::memcpy(ts[1].bytes.data(), b, 4);
  ts[2] = {"i", DType::kI32, {1}, std::vector<std::uint8_t>(4)};
  write_safetensors(path, ts, {});
  const auto st = SafetensorsFile::open(path);
  EXPECT_EQ(to_float32(st.at("f"), path, "f"), (std::vector<float>{1.5f, -2.25f}));
  EXPECT_EQ(to_float32(st.at("b"), path, "b"), (std::vector<float>{3.0f, -0.5f}));
  try {
    to_float32(st.at("i"), path, "i");
    FAIL() << "widened an I32 tensor";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": tensor 'i' is I32"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, HostileAndTruncatedFilesAreClearErrors) {
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error_of(file_with_header(ok, 8)), "");
  EXPECT_NE(error_of("abc").find("shorter than"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(ok, 8, 1ull << 40)).find("100 MB"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(ok, 8, 4000)).find("past the end"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(ok, 4)).find("outside the data"), std::string::npos);  // truncated data
  EXPECT_NE(error_of(file_with_header("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(
      error_of(file_with_header(R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8)).find("unknown dtype"),
      std::string::npos);
  EXPECT_NE(
      error_of(file_with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("need 12 bytes"),
      std::string::npos);
  EXPECT_NE(
      error_of(file_with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)).find("negative"),
      std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      12))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(
                         R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8))
                .find("absurdly large"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"([1,2])", 0)).find("not a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace plotforge
