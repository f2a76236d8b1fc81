#include "inference/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "base/cpu_features.h"

namespace plotforge::runtime {

namespace {

// Waking a sleeping thread costs tens of microseconds, about what a decode
// step's matrix product takes on a small model, and a step runs dozens of
// regions back to back. So a worker that finishes spins for a while (kSpin)
// watching for the next region before it sleeps, and the caller spins for
// the last chunks before it waits. Past kSpin of idleness (between
// requests, or while OpenBLAS runs a prefill GEMM) everyone sleeps.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A region's chunks are handed out by one 64-bit ticket: the region's
// generation, its chunk count and the next chunk index, so a worker that
// takes a ticket knows which region it belongs to and whether it is a real
// chunk, with no other shared state to read. A worker still finishing the
// previous region either takes a ticket past that region's end (and stops)
// or one of the new region's (and runs it, counted like any other).
constexpr int kIndexBits = 20, kGenShift = 2 * kIndexBits;
constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kIndexBits) - 1;

class Pool {
 public:
  Pool() {
    // One thread per core this process may use (base/cpu_features.h).
    const int n = usable_cores();
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  std::size_t threads() const { return workers_.size() + 1; }

  // One parallel region at a time: a caller that finds the pool busy (the
  // engine's loop while a request thread classifies scenes) runs its
  // chunks itself rather than wait.
  void run(std::size_t chunks, const std::function<void(std::size_t)>& body) {
    std::unique_lock<std::mutex> region(region_mu_, std::try_to_lock);
    if (!region.owns_lock() || chunks > kIndexMask / 2) {
      for (std::size_t c = 0; c < chunks; ++c) body(c);
      return;
    }
    body_ = &body;
    pending_.store(chunks);
    ++generation_;
    ticket_.store((generation_ << kGenShift) | (std::uint64_t{chunks} << kIndexBits));
    { std::lock_guard<std::mutex> l(mu_); }  // a worker checking the ticket under mu_ is now waiting, or sees it
    cv_.notify_all();
    work();
    const auto start = std::chrono::steady_clock::now();
    while (pending_.load() != 0 && std::chrono::steady_clock::now() - start < kSpin) relax();
    std::unique_lock<std::mutex> l(mu_);
    done_cv_.wait(l, [&] { return pending_.load() == 0; });
  }

 private:
  void work() {
    while (true) {
      const std::uint64_t t = ticket_.fetch_add(1);
      const std::uint64_t index = t & kIndexMask, chunks = (t >> kIndexBits) & kIndexMask;
      if (index >= chunks) return;
      (*body_)(index);  // body_ is this region's: the next is set up only once this chunk is counted
      if (pending_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> l(mu_);  // the caller checks pending_ under mu_ before it sleeps
        done_cv_.notify_all();
      }
    }
  }
  void loop() {
    std::uint64_t seen = 0;  // the generation this worker last joined
    const auto generation = [this] { return ticket_.load() >> kGenShift; };
    while (true) {
      const auto start = std::chrono::steady_clock::now();
      while (generation() == seen && !stop_.load() && std::chrono::steady_clock::now() - start < kSpin) relax();
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_.load() || generation() != seen; });
        if (stop_) return;
      }
      seen = generation();
      work();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex region_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::uint64_t generation_ = 0;  // the caller's count of regions (under region_mu_)
  std::atomic<std::uint64_t> ticket_{0}, pending_{0};
  std::atomic<bool> stop_{false};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

std::size_t parallel_threads() { return pool().threads(); }

void parallel_for(std::size_t n, std::size_t min_parallel, const std::function<void(std::size_t, std::size_t)>& fn,
                  std::size_t chunks_per_thread) {
  Pool& p = pool();
  if (n < min_parallel || p.threads() == 1) {
    fn(0, n);
    return;
  }
  const std::size_t chunks = std::min(n, p.threads() * std::max<std::size_t>(1, chunks_per_thread));
  const std::function<void(std::size_t)> body = [&](std::size_t c) { fn(n * c / chunks, n * (c + 1) / chunks); };
  p.run(chunks, body);
}

}  // namespace plotforge::runtime
