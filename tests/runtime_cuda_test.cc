// The runtime's CUDA backend against its CPU backend on the same bundle
// (label gpu; skips without a CUDA device). The CUDA engine computes in bf16
// with float32 accumulation, so the check is a relative error on the logits
// and agreement of their argmax, for prompts of several lengths, one-shot and
// chunked prefill, a mixed batch, and a branch whose partial block was copied
// on the GPU (copy-on-write through the pool's copier).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "base/error.h"
#include "inference/cuda_engine.h"
#include "inference/engine.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

using testing::plotforge_bin;
using testing::run;

bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// head_dim 64 (the kernels' smallest), grouped-query attention.
const std::string& bundle() {
  static const std::string b = [] {
    const std::string corpus = testing::prepared_sample_corpus(700);
    const std::string dir = std::filesystem::path(corpus).parent_path().string();
    const auto r = run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) +
                       "/configs/tiny.ini --data " + corpus + " --out " + dir + "/cuda-run --max-steps 30 " +
                       "--model.dim 128 --model.n_heads 2 --model.n_kv_heads 1 --model.context 256 --device cpu " +
                       "--batch-size 4 --eval-every 30 --eval-batches 1 --quiet");
    if (r.exit_code) throw std::runtime_error(r.output);
    const auto e = run(plotforge_bin() + " export --checkpoint " + dir + "/cuda-run --out " + dir + "/cuda-bundle");
    if (e.exit_code) throw std::runtime_error(e.output);
    return dir + "/cuda-bundle";
  }();
  return b;
}

void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu, int vocab, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  double num = 0, den = 0;
  int agree = 0;
  const int rows = static_cast<int>(cpu.size() / vocab);
  for (int r = 0; r < rows; ++r) {
    const float* a = &gpu[static_cast<std::size_t>(r) * vocab];
    const float* b = &cpu[static_cast<std::size_t>(r) * vocab];
    for (int i = 0; i < vocab; ++i) {
      ASSERT_TRUE(std::isfinite(a[i])) << what << " row " << r;
      num += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
      den += b[i] * static_cast<double>(b[i]);
    }
    agree += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
  }
  EXPECT_LE(std::sqrt(num / den), 2e-2) << what;
  EXPECT_GE(agree, rows * 9 / 10) << what << ": argmax agrees on " << agree << " of " << rows << " rows";
}

std::vector<int> prompt(const runtime::Model& m, int len) {
  std::vector<int> base = m.tokenizer().encode(
      "<genre=tragedy>\n<scene><beat=climax>\nHAMLET\nTo be, or not to be, that is the question:\n"
      "Whether 'tis nobler in the mind to suffer\nThe slings and arrows of outrageous fortune,\n");
  std::vector<int> p;
  while (static_cast<int>(p.size()) < len) p.push_back(base[p.size() % base.size()]);
  return p;
}

TEST(RuntimeCuda, LogitsMatchTheCpuEngine) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const auto model = runtime::Model::load(bundle());
  const int V = model->config().vocab;
  for (const int len : {1, 7, 50, 200}) {
    for (const int chunk : {len, 13}) {
      auto cpu = runtime::make_runtime(*model, "cpu", 16, 64);
      auto gpu = runtime::make_runtime(*model, "cuda", 16, 64);
      runtime::Sequence sc, sg;
      const auto p = prompt(*model, len);
      std::vector<float> lc, lg;
      for (int at = 0; at < len; at += chunk) {
        std::vector<int> part(p.begin() + at, p.begin() + std::min(len, at + chunk));
        std::vector<runtime::BatchItem> bc{{&sc, part, true}}, bg{{&sg, part, true}};
        const auto a = cpu.engine->forward(bc), b = gpu.engine->forward(bg);
        lc.insert(lc.end(), a.begin(), a.end());
        lg.insert(lg.end(), b.begin(), b.end());
      }
      expect_close(lg, lc, V, "prompt of " + std::to_string(len) + " in chunks of " + std::to_string(chunk));
    }
  }
}

TEST(RuntimeCuda, MixedBatchAndGpuCopiedBranch) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const auto model = runtime::Model::load(bundle());
  const int V = model->config().vocab;
  auto cpu = runtime::make_runtime(*model, "cpu", 16, 64);
  auto gpu = runtime::make_runtime(*model, "cuda", 16, 64);
  // A mixed batch: a 37-token prefill beside a sequence decoding.
  runtime::Sequence c1, c2, g1, g2;
  std::vector<runtime::BatchItem> warm_c{{&c2, prompt(*model, 20), false}}, warm_g{{&g2, prompt(*model, 20), false}};
  cpu.engine->forward(warm_c);
  gpu.engine->forward(warm_g);
  std::vector<runtime::BatchItem> bc{{&c1, prompt(*model, 37), false}, {&c2, {5}, false}};
  std::vector<runtime::BatchItem> bg{{&g1, prompt(*model, 37), false}, {&g2, {5}, false}};
  expect_close(gpu.engine->forward(bg), cpu.engine->forward(bc), V, "mixed batch");
  // Branch g1 (37 tokens: a partial last block, copied on the GPU), decode
  // on the branch, and compare with the CPU's branch.
  runtime::Sequence cb = runtime::fork(*cpu.pool, c1), gb = runtime::fork(*gpu.pool, g1);
  ASSERT_NE(gb.blocks.back(), g1.blocks.back()) << "the partial block should have been copied";
  for (int step = 0; step < 5; ++step) {
    std::vector<runtime::BatchItem> sc{{&cb, {7 + step}, false}}, sg{{&gb, {7 + step}, false}};
    expect_close(gpu.engine->forward(sg), cpu.engine->forward(sc), V, "branch step " + std::to_string(step));
  }
}

TEST(RuntimeCuda, RefusesWhatItCannotRun) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  // tiny.ini's head_dim is 16: the attention kernels take 64 or 128.
  const std::string corpus = testing::prepared_sample_corpus(700);
  const std::string dir = std::filesystem::path(corpus).parent_path().string();
  ASSERT_EQ(
      run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " +
          corpus + " --out " + dir + "/hd16-run --max-steps 2 --device cpu --eval-every 2 --eval-batches 1 --quiet")
          .exit_code,
      0);
  ASSERT_EQ(run(plotforge_bin() + " export --checkpoint " + dir + "/hd16-run --out " + dir + "/hd16-bundle").exit_code,
            0);
  const auto model = runtime::Model::load(dir + "/hd16-bundle");
  EXPECT_THROW(runtime::make_runtime(*model, "cuda", 16, 8), InputError);
}

}  // namespace
}  // namespace plotforge
