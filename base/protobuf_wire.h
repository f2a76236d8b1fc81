// Writing protobuf's wire format by hand, for the two files plotforge writes
// in it (TensorBoard event files, SentencePiece models with added pieces):
// varints, fixed-width little-endian values, length-delimited fields.
// Reading stays with each format's own parser, which checks what it needs.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace plotforge::protobuf {

inline void put_varint(std::string* out, std::uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

template <typename T>
void put_fixed(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and aarch64 are little-endian, as the format is
  out->append(b, sizeof(T));
}

// Field `field` with wire type 2 (length-delimited): its key, length, bytes.
inline void put_bytes(std::string* out, int field, std::string_view bytes) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | 2);
  put_varint(out, bytes.size());
  out->append(bytes);
}

}  // namespace plotforge::protobuf
