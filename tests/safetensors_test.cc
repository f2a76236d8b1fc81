// The safetensors reader on good, truncated and hostile files.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "datasets/error.h"
#include "inference/safetensors.h"
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
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data) % 8, 0u);  // data starts 8-byte aligned
  EXPECT_EQ(reinterpret_cast<const float*>(a.data)[5], 7.5f);
  EXPECT_EQ(f.at("b").dtype, DType::kBF16);
  EXPECT_THROW(f.at("c"), InputError);
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(bf16_to_float(float_to_bf16(3.140625f)), 3.140625f);
}

TEST(Safetensors, HostileAndTruncatedFilesAreClearErrors) {
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error_of(file_with_header(ok, 8)), "");
  EXPECT_NE(error_of("abc").find("shorter than"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(ok, 8, 1ull << 40)).find("100 MB"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(ok, 8, 4000)).find("past the end"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(ok, 4)).find("outside the data"), std::string::npos);  // truncated data
  EXPECT_NE(error_of(file_with_header("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8)).find("unknown dtype"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("need 12 bytes"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)).find("negative"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8))
                .find("absurdly large"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"([1,2])", 0)).find("not a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace plotforge
