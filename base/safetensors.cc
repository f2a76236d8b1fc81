#include "base/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/aligned.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "base/huge_pages.h"

namespace plotforge {

namespace {

constexpr std::uint64_t kMaxHeader = 100ull << 20;

const std::map<std::string, DType>& dtypes() {
  static const std::map<std::string, DType> m = {{"F32", DType::kF32}, {"BF16", DType::kBF16}, {"F16", DType::kF16},
                                                 {"I32", DType::kI32}, {"I64", DType::kI64},   {"U8", DType::kU8}};
  return m;
}

}  // namespace

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  auto fail = [&](const std::string& what) -> InputError {
    return InputError(path + ": " + what +
                      "; this is not a valid safetensors file (re-export it with 'plotforge export')");
  };
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw InputError(path + ": cannot stat");
  }
  f.size_ = static_cast<std::size_t>(st.st_size);
  if (f.size_ < 8) {
    ::close(fd);
    throw fail("shorter than its 8-byte header length");
  }
  f.map_ = mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (f.map_ == MAP_FAILED) {
    f.map_ = nullptr;
    throw InputError(path + ": mmap failed: " + std::strerror(errno));
  }
  // Tensors are streamed from the mapping (the runtime's weights): on 2 MB
  // pages where the kernel can (base/huge_pages.h).
  advise_huge_pages(f.map_, f.size_);
  const auto* base = static_cast<const std::uint8_t*>(f.map_);
  std::uint64_t n = 0;
  std::memcpy(&n, base, 8);
  if (n > kMaxHeader) throw fail("header length " + std::to_string(n) + " is over the 100 MB limit");
  if (n > f.size_ - 8) throw fail("header length " + std::to_string(n) + " runs past the end of the file");
  nlohmann::json header;
  try {
    header =
        nlohmann::json::parse(reinterpret_cast<const char*>(base + 8), reinterpret_cast<const char*>(base + 8 + n));
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const std::uint8_t* data = base + 8 + n;
  const std::size_t data_size = f.size_ - 8 - n;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) throw fail("__metadata__." + k + " is not a string");
        f.metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets")) {
      throw fail(where + " lacks dtype, shape or data_offsets");
    }
    if (!v["dtype"].is_string() || !dtypes().count(v["dtype"].get<std::string>())) {
      throw fail(where + " has an unknown dtype " + v["dtype"].dump());
    }
    TensorView t;
    t.dtype = dtypes().at(v["dtype"].get<std::string>());
    if (!v["shape"].is_array()) throw fail(where + ": shape is not a list");
    std::uint64_t count = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw fail(where + ": shape holds a non-integer or negative size");
      const std::uint64_t s = d.get<std::uint64_t>();
      if (s != 0 && count > (1ull << 50) / s) throw fail(where + ": shape is absurdly large");
      count *= s;
      t.shape.push_back(static_cast<std::int64_t>(s));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      throw fail(where + ": data_offsets must be two non-negative integers");
    }
    const std::uint64_t b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
    if (b > e || e > data_size)
      throw fail(where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] lie outside the data");
    if (e - b != count * dtype_size(t.dtype))
      throw fail(where + ": shape and dtype need " + std::to_string(count * dtype_size(t.dtype)) +
                 " bytes, offsets give " + std::to_string(e - b));
    t.data = data + b;
    t.bytes = e - b;
    ranges.emplace_back(b, e);
    f.tensors_[name] = std::move(t);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) throw fail("two tensors' data overlap");
  }
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept
    : path_(std::move(o.path_)),
      map_(o.map_),
      size_(o.size_),
      tensors_(std::move(o.tensors_)),
      metadata_(std::move(o.metadata_)) {
  o.map_ = nullptr;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, size_);
}

const TensorView& SafetensorsFile::at(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw InputError(path_ + ": tensor '" + name + "' is missing");
  return it->second;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Whole lines first, so each of them starts on one (the header's keys are
  // sorted by name whatever the data's order).
  std::vector<const TensorToWrite*> layout;
  for (const auto& t : tensors) layout.push_back(&t);
  std::stable_partition(layout.begin(), layout.end(),
                        [](const TensorToWrite* t) { return t->bytes.size() % kCacheLine == 0; });
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const TensorToWrite* t : layout) {
    header[t->name] = {
        {"dtype", dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + t->bytes.size()}}};
    offset += t->bytes.size();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  while ((8 + h.size()) % kCacheLine != 0) h.push_back(' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  const std::uint64_t n = h.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += h;
  for (const TensorToWrite* t : layout) out.append(reinterpret_cast<const char*>(t->bytes.data()), t->bytes.size());
  write_file_atomic(path, out);
}

void SafetensorsFile::release(const TensorView& t) const {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(t.data) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(t.data) + t.bytes) / page * page;
  // Advice only: a failure leaves the pages where they were.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::vector<float> to_float32(const TensorView& t, const std::string& file, const std::string& name) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  if (t.dtype == DType::kF32) {
    std::memcpy(out.data(), t.data, out.size() * 4);
  } else if (t.dtype == DType::kBF16) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::uint16_t b;
      std::memcpy(&b, t.data + 2 * i, 2);
      out[i] = bf16_to_float(b);
    }
  } else if (t.dtype == DType::kF16) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = f16_to_float(h);
    }
  } else {
    throw InputError(file + ": tensor '" + name + "' is " + dtype_name(t.dtype) + "; expected F32, BF16 or F16");
  }
  return out;
}

}  // namespace plotforge
