// Each of the runtime's elementwise kernels (kernels/runtime_ops.h) against
// a few lines of CPU reference, so that a wrong one is named on the first
// GPU run rather than found through the engines' logits (tests/
// runtime_cuda_test.cc). Outputs start NaN-poisoned: an element a kernel
// forgets to write fails. Label gpu; skips without a GPU.
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/gpu_testing.h"
#include "kernels/runtime_ops.h"

namespace plotforge::kernels {
namespace {

using testing::DeviceBuffer;

constexpr DType kBf16 = DType::kBF16;

float bf16_round(float f) { return testing::from_half_bits(testing::to_half_bits(f, kBf16), kBf16); }

std::vector<float> widen(const std::vector<std::uint16_t>& bits) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = testing::from_half_bits(bits[i], kBf16);
  return out;
}

template <typename T>
std::unique_ptr<DeviceBuffer> upload(const std::vector<T>& v) {
  auto b = std::make_unique<DeviceBuffer>(v.size() * sizeof(T));
  b->upload(v.data());
  return b;
}

template <typename T>
std::vector<T> download(const DeviceBuffer& b) {
  std::vector<T> v(b.bytes() / sizeof(T));
  b.download(v.data());
  return v;
}

std::vector<float> normal(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Every output within one bf16 rounding of the reference (which is rounded
// the same way), or exactly equal when `exact`.
void expect_close(const std::vector<float>& out, const std::vector<float>& ref, bool exact, const char* what) {
  ASSERT_EQ(out.size(), ref.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (exact) {
      ASSERT_EQ(out[i], ref[i]) << what << " element " << i;
    } else {
      ASSERT_NEAR(out[i], ref[i], 1e-2f * std::max(1.0f, std::fabs(ref[i]))) << what << " element " << i;
    }
  }
}

TEST(RuntimeOpsGpu, EmbedAndGatherRowsCopyExactly) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(1);
  const int vocab = 50, dim = 96, rows = 7;
  const auto table = testing::random_half(static_cast<std::size_t>(vocab) * dim, kBf16, rng);
  const std::vector<int> tokens = {3, 0, 49, 3, 17, 8, 22};
  auto d_table = upload(table.bits), d_tokens = upload(tokens);
  DeviceBuffer x(static_cast<std::size_t>(rows) * dim * 4);
  x.poison();
  cudaCheck(embed_rows(d_table->get(), static_cast<const int*>(d_tokens->get()), static_cast<float*>(x.get()), rows,
                       dim, nullptr));
  cudaCheck(cudaDeviceSynchronize());
  std::vector<float> ref;
  for (int t : tokens) ref.insert(ref.end(), table.values.begin() + t * dim, table.values.begin() + (t + 1) * dim);
  const auto embedded = download<float>(x);
  expect_close(embedded, ref, true, "embed_rows");

  const std::vector<int> pick = {6, 0, 3};
  auto d_pick = upload(pick);
  DeviceBuffer out(pick.size() * dim * 4);
  out.poison();
  cudaCheck(gather_rows(static_cast<const float*>(x.get()), static_cast<const int*>(d_pick->get()),
                        static_cast<float*>(out.get()), static_cast<int>(pick.size()), dim, nullptr));
  cudaCheck(cudaDeviceSynchronize());
  std::vector<float> gathered_ref;
  for (int r : pick)
    gathered_ref.insert(gathered_ref.end(), embedded.begin() + r * dim, embedded.begin() + (r + 1) * dim);
  expect_close(download<float>(out), gathered_ref, true, "gather_rows");
}

TEST(RuntimeOpsGpu, RmsNormAndSwiGLUMatchTheirReferences) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(2);
  const int rows = 5, dim = 320, hidden = 864;  // dims not multiples of the block size
  const float eps = 1e-5f;
  const auto x = normal(static_cast<std::size_t>(rows) * dim, rng), w = normal(dim, rng);
  auto d_x = upload(x), d_w = upload(w);
  DeviceBuffer y(static_cast<std::size_t>(rows) * dim * 2);
  y.poison();
  cudaCheck(rms_norm_bf16(static_cast<const float*>(d_x->get()), static_cast<const float*>(d_w->get()), y.get(), rows,
                          dim, eps, nullptr));
  std::vector<float> ref(x.size());
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
    for (int i = 0; i < dim; ++i) ref[r * dim + i] = bf16_round(x[r * dim + i] * inv * w[i]);
  }
  cudaCheck(cudaDeviceSynchronize());
  expect_close(widen(download<std::uint16_t>(y)), ref, false, "rms_norm_bf16");

  const auto gu = normal(static_cast<std::size_t>(rows) * 2 * hidden, rng);
  auto d_gu = upload(gu);
  DeviceBuffer act(static_cast<std::size_t>(rows) * hidden * 2);
  act.poison();
  cudaCheck(silu_mul_bf16(static_cast<const float*>(d_gu->get()), act.get(), rows, hidden, nullptr));
  std::vector<float> act_ref(static_cast<std::size_t>(rows) * hidden);
  for (int r = 0; r < rows; ++r) {
    for (int i = 0; i < hidden; ++i) {
      const float g = gu[r * 2 * hidden + i], u = gu[r * 2 * hidden + hidden + i];
      act_ref[r * hidden + i] = bf16_round(g / (1.0f + std::exp(-g)) * u);
    }
  }
  cudaCheck(cudaDeviceSynchronize());
  expect_close(widen(download<std::uint16_t>(act)), act_ref, false, "silu_mul_bf16");
}

// Rotary on q and k (rotate-half, as inference/engine.cc does it), q to its
// own buffer, k and v into their cache slots; every other slot untouched.
TEST(RuntimeOpsGpu, RopeAndCacheWriteRotatedQAndKAndPlainV) {
  if (!testing::have_gpu()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(3);
  CacheWrite c;
  c.heads = 4, c.kv_heads = 2, c.head_dim = 64, c.block_size = 16;
  const int hd = c.head_dim, half = hd / 2, context = 40, blocks = 4, rows = 3;
  const int width = (c.heads + 2 * c.kv_heads) * hd;
  const auto qkv = normal(static_cast<std::size_t>(rows) * width, rng);
  std::vector<float> cos(static_cast<std::size_t>(context) * hd), sin(cos.size());
  for (int t = 0; t < context; ++t) {
    for (int i = 0; i < half; ++i) {
      const double f = t * std::pow(10000.0, -2.0 * i / hd);
      cos[t * hd + i] = cos[t * hd + i + half] = static_cast<float>(std::cos(f));
      sin[t * hd + i] = sin[t * hd + i + half] = static_cast<float>(std::sin(f));
    }
  }
  const std::vector<int> positions = {0, 17, 39}, slots = {5, 16 * 2 + 1, 16 * 3 + 15};
  auto d_qkv = upload(qkv), d_cos = upload(cos), d_sin = upload(sin), d_pos = upload(positions),
       d_slots = upload(slots);
  const std::size_t cache_elems = static_cast<std::size_t>(blocks) * c.kv_heads * c.block_size * hd;
  DeviceBuffer q(static_cast<std::size_t>(rows) * c.heads * hd * 2), k_cache(cache_elems * 2), v_cache(cache_elems * 2);
  q.poison();
  k_cache.poison();
  v_cache.poison();
  cudaCheck(rope_and_cache(static_cast<const float*>(d_qkv->get()), static_cast<const float*>(d_cos->get()),
                           static_cast<const float*>(d_sin->get()), static_cast<const int*>(d_pos->get()),
                           static_cast<const int*>(d_slots->get()), q.get(), k_cache.get(), v_cache.get(), rows, c,
                           nullptr));
  cudaCheck(cudaDeviceSynchronize());
  auto rotate = [&](const float* v, int t, std::vector<float>& out) {
    for (int i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      out.push_back(bf16_round(a * cos[t * hd + i] - b * sin[t * hd + i]));
    }
    for (int i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      out.push_back(bf16_round(b * cos[t * hd + i + half] + a * sin[t * hd + i + half]));
    }
  };
  std::vector<float> q_ref;
  for (int r = 0; r < rows; ++r) {
    for (int h = 0; h < c.heads; ++h) rotate(&qkv[r * width + h * hd], positions[r], q_ref);
  }
  expect_close(widen(download<std::uint16_t>(q)), q_ref, false, "q");
  const auto k = widen(download<std::uint16_t>(k_cache)), v = widen(download<std::uint16_t>(v_cache));
  std::vector<bool> written(cache_elems, false);
  for (int r = 0; r < rows; ++r) {
    const int block = slots[r] / c.block_size, off = slots[r] % c.block_size;
    for (int g = 0; g < c.kv_heads; ++g) {
      const std::size_t at = ((static_cast<std::size_t>(block) * c.kv_heads + g) * c.block_size + off) * hd;
      std::vector<float> k_ref;
      rotate(&qkv[r * width + (c.heads + g) * hd], positions[r], k_ref);
      std::vector<float> v_ref;
      for (int d = 0; d < hd; ++d) v_ref.push_back(bf16_round(qkv[r * width + (c.heads + c.kv_heads + g) * hd + d]));
      expect_close(std::vector<float>(k.begin() + at, k.begin() + at + hd), k_ref, false, "k cache");
      expect_close(std::vector<float>(v.begin() + at, v.begin() + at + hd), v_ref, true, "v cache");
      std::fill(written.begin() + at, written.begin() + at + hd, true);
    }
  }
  for (std::size_t i = 0; i < cache_elems; ++i) {
    if (!written[i]) ASSERT_TRUE(std::isnan(k[i]) && std::isnan(v[i])) << "cache element " << i << " was overwritten";
  }
}

}  // namespace
}  // namespace plotforge::kernels
