#include "training/tensorboard.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <boost/crc.hpp>

#include "base/error.h"
#include "base/protobuf_wire.h"

namespace plotforge {

namespace {

using protobuf::put_bytes;
using protobuf::put_fixed;
using protobuf::put_varint;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string event_header(std::int64_t step) {
  std::string e;
  put_varint(&e, (1 << 3) | 1);  // wall_time: double
  put_fixed(&e, now_seconds());
  put_varint(&e, (2 << 3) | 0);  // step: int64
  put_varint(&e, static_cast<std::uint64_t>(step));
  return e;
}

}  // namespace

std::uint32_t masked_crc32c(const void* data, std::size_t n) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, n);
  const std::uint32_t c = crc.checksum();
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = dir + "/events.out.tfevents." + std::to_string(static_cast<long long>(now_seconds())) + "." + host + "." +
          std::to_string(::getpid());
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw InputError(path_ + ": cannot create TensorBoard event file: " + std::strerror(errno));
  std::string e = event_header(0);
  put_bytes(&e, 3, "brain.Event:2");  // file_version
  write_record(e);
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::add_scalar(const std::string& tag, float value, std::int64_t step) {
  std::string v;
  put_bytes(&v, 1, tag);         // Summary.Value.tag
  put_varint(&v, (2 << 3) | 5);  // Summary.Value.simple_value: float
  put_fixed(&v, value);
  std::string summary;
  put_bytes(&summary, 1, v);  // Summary.value
  std::string e = event_header(step);
  put_bytes(&e, 5, summary);  // Event.summary
  write_record(e);
}

void EventWriter::write_record(const std::string& event) {
  std::string r;
  const std::uint64_t len = event.size();
  put_fixed(&r, len);
  put_fixed(&r, masked_crc32c(&len, sizeof len));
  r += event;
  put_fixed(&r, masked_crc32c(event.data(), event.size()));
  std::fwrite(r.data(), 1, r.size(), file_);
}

void EventWriter::flush() { std::fflush(file_); }

}  // namespace plotforge
