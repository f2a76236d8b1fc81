// A TensorBoard event-file writer for scalars, with no TensorFlow or
// protobuf library: the tfevents format is a sequence of records
//   uint64 length | uint32 masked_crc32c(length) | Event bytes | uint32 masked_crc32c(bytes)
// and the Event protobuf we write has only wall_time, step, file_version and
// summary.value{tag, simple_value}, encoded by hand below.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace plotforge {

class EventWriter {
 public:
  // Creates DIR/events.out.tfevents.<seconds>.<host>.<pid>.
  explicit EventWriter(const std::string& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void add_scalar(const std::string& tag, float value, std::int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// CRC-32C (Castagnoli) masked as TFRecord does; exposed for tests.
std::uint32_t masked_crc32c(const void* data, std::size_t n);

}  // namespace plotforge
