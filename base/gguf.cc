#include "base/gguf.h"

#include <cstring>
#include <fstream>

#include "base/atomic_file.h"
#include "base/error.h"

namespace plotforge {

namespace {

// GGUF's metadata value types (gguf.h's enum gguf_type).
enum : std::uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };
constexpr std::uint64_t kAlignment = 32;

template <class T>
void put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only, as llama.cpp's reader
  out->append(b, sizeof(T));
}

void put_string(std::string* out, const std::string& s) {
  put<std::uint64_t>(out, s.size());
  out->append(s);
}

}  // namespace

// Every pair starts with its key and value type; arrays then name their
// element type and count.
void GgufWriter::begin_pair(const std::string& key, std::uint32_t type) {
  put_string(&metadata_, key);
  put<std::uint32_t>(&metadata_, type);
  ++pairs_;
}

void GgufWriter::begin_array(const std::string& key, std::uint32_t element_type, std::size_t n) {
  begin_pair(key, kArray);
  put<std::uint32_t>(&metadata_, element_type);
  put<std::uint64_t>(&metadata_, n);
}

void GgufWriter::add_u32(const std::string& key, std::uint32_t v) {
  begin_pair(key, kU32);
  put(&metadata_, v);
}

void GgufWriter::add_i32(const std::string& key, std::int32_t v) {
  begin_pair(key, kI32);
  put(&metadata_, v);
}

void GgufWriter::add_f32(const std::string& key, float v) {
  begin_pair(key, kF32);
  put(&metadata_, v);
}

void GgufWriter::add_bool(const std::string& key, bool v) {
  begin_pair(key, kBool);
  put<std::uint8_t>(&metadata_, v ? 1 : 0);
}

void GgufWriter::add_string(const std::string& key, const std::string& v) {
  begin_pair(key, kString);
  put_string(&metadata_, v);
}

void GgufWriter::add_strings(const std::string& key, const std::vector<std::string>& v) {
  begin_array(key, kString, v.size());
  for (const auto& s : v) put_string(&metadata_, s);
}

void GgufWriter::add_f32s(const std::string& key, const std::vector<float>& v) {
  begin_array(key, kF32, v.size());
  for (float x : v) put(&metadata_, x);
}

void GgufWriter::add_i32s(const std::string& key, const std::vector<std::int32_t>& v) {
  begin_array(key, kI32, v.size());
  for (std::int32_t x : v) put(&metadata_, x);
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, const std::vector<std::int64_t>& shape,
                            std::vector<std::uint8_t> bytes) {
  tensors_.push_back({name, type, shape, std::move(bytes)});
}

void GgufWriter::write(const std::string& path) const {
  auto pad = [](std::uint64_t n) { return (kAlignment - n % kAlignment) % kAlignment; };
  std::string head;
  head.append("GGUF");
  put<std::uint32_t>(&head, 3);
  put<std::uint64_t>(&head, tensors_.size());
  put<std::uint64_t>(&head, pairs_);
  head += metadata_;
  std::uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(&head, t.name);
    put<std::uint32_t>(&head, static_cast<std::uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<std::uint64_t>(&head, *it);
    put<std::uint32_t>(&head, static_cast<std::uint32_t>(t.type));
    put<std::uint64_t>(&head, offset);
    offset += t.bytes.size() + pad(t.bytes.size());
  }
  head.append(pad(head.size()), '\0');
  AtomicPath out(path);
  std::ofstream f(out.temp_path(), std::ios::binary);
  if (!f) throw InputError(path + ": cannot create (does its directory exist and is it writable?)");
  f.write(head.data(), static_cast<std::streamsize>(head.size()));
  const std::string zeros(kAlignment, '\0');
  for (const auto& t : tensors_) {
    f.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
    f.write(zeros.data(), static_cast<std::streamsize>(pad(t.bytes.size())));
  }
  f.close();
  if (!f) throw InputError(path + ": write failed (disk full?)");
  out.commit();
}

}  // namespace plotforge
