// The safetensors format, read and written without libtorch: the one file
// format between the trainer and the runtime (and Hugging Face tools).
//
//   u64 little-endian N | N bytes of JSON header | tensor data
//   header: {"name": {"dtype": "F32"|"BF16"|..., "shape": [...],
//            "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
// Offsets are relative to the end of the header. We pad the header with
// spaces so the data starts on a 64-byte line (Hugging Face's writer pads
// to 8), and lay out first the tensors whose sizes are multiples of 64, so
// each of those starts on a line too: the runtime then uses matrices
// straight from the mapping (it copies a matrix that is not aligned,
// base/aligned.h says why).
//
// The reader maps the file and validates it strictly: header length within
// the file and at most 100 MB, valid JSON, known dtypes, shapes whose byte
// size matches the offsets, offsets in bounds and non-overlapping. A hostile
// or truncated file gets an InputError naming the file and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/dtype.h"

namespace plotforge {

struct TensorView {
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data = nullptr;  // into the mapping
  std::size_t bytes = 0;
  std::int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws InputError.
  static SafetensorsFile open(const std::string& path);
  SafetensorsFile(SafetensorsFile&& o) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) = delete;
  SafetensorsFile(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Throws InputError naming the tensor if absent.
  const TensorView& at(const std::string& name) const;
  // Tells the kernel that the mapping's whole pages inside t will not be
  // read again (t was copied out): they leave the process's resident set
  // and come back from the file if they are read after all.
  void release(const TensorView& t) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

// The tensor's values as float32: F32 copied, BF16 and F16 widened. Throws
// InputError naming `file` and the tensor for any other dtype.
std::vector<float> to_float32(const TensorView& t, const std::string& file, const std::string& name);

// Writes atomically (temporary file, fsync, rename).
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace plotforge
