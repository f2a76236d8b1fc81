#include "training/shm_allreduce.h"

#include <fcntl.h>
#include <immintrin.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include <linux/futex.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace plotforge {

namespace {

// 1 MiB a slot: a 2-rank group maps 3 MiB (a container's /dev/shm is often
// 64 MiB), and a slot of floats stays within L2.
constexpr std::size_t kSlotBytes = 1 << 20;
constexpr std::size_t kHeaderBytes = 4096;

struct Header {
  std::atomic<std::uint32_t> arrived;     // ranks at the current barrier
  std::atomic<std::uint32_t> generation;  // barriers completed
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "futex on a shared atomic");

Header* header(void* map) { return static_cast<Header*>(map); }

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, value, timeout, nullptr, 0);
}

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error("shared memory all-reduce: " + what + ": " + std::strerror(errno) +
                            " (is /dev/shm mounted and writable? --cpu-ranks 1 trains in one process without it)");
}

}  // namespace

ShmAllReduce::ShmAllReduce(c10d::Store& store, int rank, int world_size, std::chrono::milliseconds timeout)
    : rank_(rank), world_(world_size), timeout_(timeout) {
  slot_bytes_ = kSlotBytes;
  // Header, one slot per rank, then the result.
  map_bytes_ = kHeaderBytes + slot_bytes_ * static_cast<std::size_t>(world_ + 1);
  const std::string key = "shm_allreduce/name", opened = "shm_allreduce/opened";
  std::string name;
  int fd = -1;
  if (rank_ == 0) {
    std::random_device rd;
    name = "/plotforge-" + std::to_string(getpid()) + "-" + std::to_string(rd());
    fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) throw sys_error("shm_open " + name);
    if (ftruncate(fd, static_cast<off_t>(map_bytes_)) != 0) {
      const auto e = sys_error("ftruncate " + name + " (is /dev/shm full?)");
      close(fd);
      shm_unlink(name.c_str());
      throw e;
    }
    store.set(key, std::vector<std::uint8_t>(name.begin(), name.end()));
  } else {
    const std::vector<std::uint8_t> v = store.get(key);  // waits for rank 0, up to the store's timeout
    name.assign(v.begin(), v.end());
    fd = shm_open(name.c_str(), O_RDWR, 0600);
    if (fd < 0) throw sys_error("shm_open " + name);
  }
  map_ = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    if (rank_ == 0) shm_unlink(name.c_str());
    throw sys_error("mmap " + name);
  }
  // ftruncate zero-filled the header: no rank arrived, generation 0.
  store.add(opened, 1);
  if (rank_ == 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (store.add(opened, 0) < world_) {
      if (std::chrono::steady_clock::now() > deadline) {
        shm_unlink(name.c_str());
        throw std::runtime_error("shared memory all-reduce: not every rank opened " + name);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    shm_unlink(name.c_str());
  }
}

ShmAllReduce::~ShmAllReduce() {
  if (map_ != nullptr) munmap(map_, map_bytes_);
}

// A sense-free barrier on a generation counter: the last rank to arrive
// resets the count and bumps the generation; the others spin briefly (the
// ranks run in step, so the wait is usually short), then sleep on a futex.
void ShmAllReduce::barrier() {
  Header* h = header(map_);
  const std::uint32_t gen = generation_;
  ++generation_;
  if (h->arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<std::uint32_t>(world_)) {
    h->arrived.store(0, std::memory_order_relaxed);
    h->generation.store(gen + 1, std::memory_order_release);
    futex(&h->generation, FUTEX_WAKE, INT32_MAX, nullptr);
    return;
  }
  for (int i = 0; i < 4000; ++i) {
    if (h->generation.load(std::memory_order_acquire) != gen) return;
    _mm_pause();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  const timespec slice{0, 50 * 1000 * 1000};
  while (h->generation.load(std::memory_order_acquire) == gen) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("shared memory all-reduce: a rank did not reach the barrier within " +
                               std::to_string(timeout_.count()) + " ms");
    }
    futex(&h->generation, FUTEX_WAIT, gen, &slice);
  }
}

template <typename T>
void ShmAllReduce::sum_impl(T* data, std::size_t count) {
  char* base = static_cast<char*>(map_) + kHeaderBytes;
  const std::size_t per_slot = slot_bytes_ / sizeof(T);
  for (std::size_t begin = 0; begin < count; begin += per_slot) {
    const std::size_t n = std::min(per_slot, count - begin);
    T* mine = reinterpret_cast<T*>(base + slot_bytes_ * static_cast<std::size_t>(rank_));
    T* result = reinterpret_cast<T*>(base + slot_bytes_ * static_cast<std::size_t>(world_));
    std::memcpy(mine, data + begin, n * sizeof(T));
    barrier();
    // This rank's part, cut at multiples of 16 elements (whole cache lines).
    const std::size_t part = (n + world_ - 1) / world_;
    const std::size_t step = (part + 15) / 16 * 16;
    const std::size_t lo = std::min(n, step * rank_), hi = std::min(n, lo + step);
    const T* slot0 = reinterpret_cast<const T*>(base);
    for (std::size_t i = lo; i < hi; ++i) result[i] = slot0[i];
    for (int r = 1; r < world_; ++r) {
      const T* s = reinterpret_cast<const T*>(base + slot_bytes_ * static_cast<std::size_t>(r));
      for (std::size_t i = lo; i < hi; ++i) result[i] += s[i];
    }
    barrier();
    std::memcpy(data + begin, result, n * sizeof(T));
    // The next piece overwrites the result only after every rank has
    // copied it out: its first barrier comes after this copy on every rank.
  }
}

void ShmAllReduce::sum(float* data, std::size_t count) { sum_impl(data, count); }
void ShmAllReduce::sum(double* data, std::size_t count) { sum_impl(data, count); }

}  // namespace plotforge
