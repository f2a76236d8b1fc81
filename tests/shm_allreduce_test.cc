// training/shm_allreduce.h with real processes: three forked ranks meeting
// through a FileStore, data longer than a slot, floats and doubles, a rank
// that never comes, and nothing left in /dev/shm.
#include "training/shm_allreduce.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>

namespace plotforge {
namespace {

std::string store_file(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("pf-shm-test-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove(p);
  return p.string();
}

int shm_entries() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm"))
    if (e.path().filename().string().rfind("plotforge-", 0) == 0) ++n;
  return n;
}

// Forks `world` ranks running body(rank, allreduce); each child's exit code
// is body's return value (0 for success). Returns the codes in rank order.
template <typename Body>
std::vector<int> run_ranks(int world, const std::string& file, std::chrono::milliseconds timeout, Body body) {
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    const pid_t pid = fork();
    if (pid == 0) {
      int code = 100;
      try {
        c10d::FileStore store(file, world);
        ShmAllReduce ar(store, r, world, timeout);
        code = body(r, ar);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
        code = 101;
      }
      _exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t p : pids) {
    int status = 0;
    waitpid(p, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 200);
  }
  return codes;
}

TEST(ShmAllReduce, ThreeRanksSumInPlaceAcrossSeveralSlotsBitForBit) {
  const int before = shm_entries();
  // 700,001 floats: three 1 MiB slots' worth and a ragged tail.
  const auto codes = run_ranks(3, store_file("sum"), std::chrono::seconds(30), [](int r, ShmAllReduce& ar) {
    const std::size_t n = 700001;
    std::vector<float> f(n);
    for (std::size_t i = 0; i < n; ++i) f[i] = 0.1f * static_cast<float>(r + 1) + static_cast<float>(i % 1000);
    for (int round = 0; round < 3; ++round) {  // the segment is reused call after call
      std::vector<float> got = f;
      ar.sum(got.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        // In rank order: (rank 0's + rank 1's) + rank 2's, in float.
        const float b = static_cast<float>(i % 1000);
        const float want = ((0.1f * 1 + b) + (0.1f * 2 + b)) + (0.1f * 3 + b);
        if (got[i] != want) return 1;
      }
    }
    std::vector<double> d = {1.5 * r, -2.25, 1e300};
    ar.sum(d.data(), d.size());
    if (d[0] != 1.5 * 3 || d[1] != -6.75 || d[2] != 3e300) return 2;
    std::vector<float> empty;
    ar.sum(empty.data(), 0);
    return 0;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(shm_entries(), before) << "a segment was left in /dev/shm";
}

TEST(ShmAllReduce, ARankThatNeverComesFailsTheOthersAfterTheTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto codes = run_ranks(2, store_file("timeout"), std::chrono::milliseconds(500), [](int r, ShmAllReduce& ar) {
    if (r == 1) return 0;  // leaves without taking part
    float x = 1;
    try {
      ar.sum(&x, 1);
    } catch (const std::runtime_error& e) {
      return std::string(e.what()).find("did not reach the barrier within 500 ms") != std::string::npos ? 0 : 3;
    }
    return 4;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0}));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

}  // namespace
}  // namespace plotforge
