#include "inference/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

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

class Pool {
 public:
  Pool() {
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
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
    if (!region.owns_lock()) {
      for (std::size_t c = 0; c < chunks; ++c) body(c);
      return;
    }
    std::unique_lock<std::mutex> l(mu_);
    body_ = &body;
    chunks_ = chunks;
    next_.store(0);
    pending_.store(chunks);
    generation_.fetch_add(1);
    l.unlock();
    cv_.notify_all();
    work();
    const auto start = std::chrono::steady_clock::now();
    while (pending_.load() != 0 && std::chrono::steady_clock::now() - start < kSpin) relax();
    l.lock();
    done_cv_.wait(l, [&] { return pending_.load() == 0; });
    body_ = nullptr;
  }

 private:
  void work() {
    for (std::size_t c = next_.fetch_add(1); c < chunks_; c = next_.fetch_add(1)) {
      (*body_)(c);
      if (pending_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> l(mu_);  // the caller checks pending_ under mu_ before it sleeps
        done_cv_.notify_all();
      }
    }
  }
  void loop() {
    std::size_t seen = 0;
    while (true) {
      const auto start = std::chrono::steady_clock::now();
      while (generation_.load() == seen && !stop_.load() && std::chrono::steady_clock::now() - start < kSpin) relax();
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_.load() || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      if (!body_) continue;
      l.unlock();
      work();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex region_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::size_t chunks_ = 0;
  std::atomic<std::size_t> next_{0}, pending_{0}, generation_{0};
  std::atomic<bool> stop_{false};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void parallel_for(std::size_t n, std::size_t min_parallel, const std::function<void(std::size_t, std::size_t)>& fn) {
  Pool& p = pool();
  if (n < min_parallel || p.threads() == 1) {
    fn(0, n);
    return;
  }
  const std::size_t chunks = std::min(n, p.threads() * 4);
  const std::function<void(std::size_t)> body = [&](std::size_t c) { fn(n * c / chunks, n * (c + 1) / chunks); };
  p.run(chunks, body);
}

}  // namespace plotforge::runtime
