// Atomic file replacement: readers see the old file or the complete new one,
// never a half-written one, even if the writer is killed.
#pragma once

#include <string>
#include <string_view>

namespace plotforge {

// A temporary path beside `target`. commit() fsyncs it, renames it over the
// target and fsyncs the directory; the destructor removes the temporary file
// if commit() was never reached (an exception or early return).
class AtomicPath {
 public:
  explicit AtomicPath(std::string target);
  ~AtomicPath();
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& target() const { return target_; }
  void commit();

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace plotforge
