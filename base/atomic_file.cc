#include "base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/error.h"

namespace plotforge {

namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw InputError(path + ": cannot open for fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw InputError(path + ": fsync failed: " + std::strerror(errno));
}

}  // namespace

AtomicPath::AtomicPath(std::string target) : target_(std::move(target)) {
  std::random_device rd;
  temp_ = target_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd() % 1000000);
}

AtomicPath::~AtomicPath() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicPath::commit() {
  fsync_path(temp_, false);
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw InputError(target_ + ": cannot rename " + temp_ + " into place: " + std::strerror(errno));
  }
  committed_ = true;
  std::string dir = std::filesystem::path(target_).parent_path().string();
  fsync_path(dir.empty() ? "." : dir, true);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicPath out(path);
  std::FILE* f = std::fopen(out.temp_path().c_str(), "wb");
  if (!f) throw InputError(out.temp_path() + ": cannot create: " + std::strerror(errno));
  const std::size_t n = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool ok = n == bytes.size() && std::fflush(f) == 0;
  std::fclose(f);
  if (!ok) throw InputError(out.temp_path() + ": write failed (disk full?)");
  out.commit();
}

}  // namespace plotforge
