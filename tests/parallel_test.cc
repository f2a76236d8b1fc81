// The runtime's thread pool (inference/parallel.h): every index of every
// region runs exactly once, regions of any size follow one another without
// a pause (the workers spin between them), and two threads may call at once
// (the second runs its region inline). A lost or doubled chunk shows as a
// wrong count, or as a hang that CTest's timeout turns into a failure.
#include "inference/parallel.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace plotforge::runtime {
namespace {

void check_regions(int regions, std::uint64_t seed) {
  std::uint64_t x = seed;
  for (int r = 0; r < regions; ++r) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const std::size_t n = 1 + (x >> 33) % 300;
    std::vector<std::atomic<int>> hits(n);
    // Chunks per thread from 0 (taken as 1) to 5: one slice per thread,
    // as the matrix products ask, up to finer than the default.
    parallel_for(
        n, 1 + (x >> 20) % 8,
        [&](std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
        },
        (x >> 40) % 6);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "region " << r << " index " << i << " of " << n;
  }
}

TEST(ParallelFor, EveryIndexOnceOverManyRegionsBackToBack) { check_regions(1000000, 1); }

TEST(ParallelFor, TwoCallersAtOnce) {
  std::thread other([] { check_regions(50000, 2); });
  check_regions(50000, 3);
  other.join();
}

}  // namespace
}  // namespace plotforge::runtime
