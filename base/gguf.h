// A writer of GGUF files (version 3), the format llama.cpp loads: metadata
// key/value pairs, then tensor descriptions, then the tensors' data, each
// aligned to 32 bytes (general.alignment's default). It knows nothing of
// models: training/gguf_export.h says what a Llama file holds.
//
//   u32 magic "GGUF" | u32 version 3 | u64 tensors | u64 metadata pairs
//   metadata: string key | u32 value type | value
//   tensor infos: string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type
//                 | u64 offset into the data section
//   padding to 32 | data
// Strings are u64 length + bytes; ne[0] is the innermost (fastest) dimension,
// so a row-major [rows, cols] matrix has ne = {cols, rows}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace plotforge {

// ggml's tensor types that plotforge writes (ggml.h's enum ggml_type).
enum class GgmlType : std::uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };

class GgufWriter {
 public:
  void add_u32(const std::string& key, std::uint32_t v);
  void add_i32(const std::string& key, std::int32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  void add_f32s(const std::string& key, const std::vector<float>& v);
  void add_i32s(const std::string& key, const std::vector<std::int32_t>& v);

  // `shape` in row-major order ({rows, cols}); `bytes` already in `type`'s
  // layout (kernels/weight_formats.h encodes rows).
  void add_tensor(const std::string& name, GgmlType type, const std::vector<std::int64_t>& shape,
                  std::vector<std::uint8_t> bytes);

  // Writes atomically (base/atomic_file.h). Throws InputError naming the
  // path if it cannot be written.
  void write(const std::string& path) const;

 private:
  void begin_pair(const std::string& key, std::uint32_t type);
  void begin_array(const std::string& key, std::uint32_t element_type, std::size_t n);
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;
  };
  std::string metadata_;
  std::uint64_t pairs_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace plotforge
