// Debian's libtorch falls back to the reference BLAS (about 20x slower) when
// no optimized BLAS is installed. scripts/setup.sh installs OpenBLAS; this
// test fails loudly if the linked libtorch still runs at reference speed.
#include <chrono>

#include <gtest/gtest.h>
#include <torch/torch.h>

TEST(BlasFloor, MatmulThroughLibtorchIsNotReferenceBlas) {
  torch::manual_seed(0);
  const auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto c = torch::matmul(a, b);
    (void)c.sum().item<float>();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double gflops = 2.0 * 1024 * 1024 * 1024 / best / 1e9;
  // Reference BLAS manages about 1-3 GFLOP/s here; OpenBLAS on one slow core
  // still gives well over 15.
  EXPECT_GT(gflops, 10.0) << "libtorch matmul at " << gflops
                          << " GFLOP/s: install libopenblas-dev (scripts/setup.sh) so Debian's libtorch uses it";
  std::printf("libtorch 1024^3 matmul: %.1f GFLOP/s\n", gflops);
}
