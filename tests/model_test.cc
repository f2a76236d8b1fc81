#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <boost/crc.hpp>
#include <set>

#include "datasets/error.h"
#include "models/fused_cpu.h"
#include "models/generate.h"
#include "models/transformer.h"
#include "training/schedule.h"
#include "training/tensorboard.h"

namespace plotforge {
namespace {

TransformerConfig small_config(int kv_heads = 0, bool tie = false) {
  TransformerConfig c;
  c.vocab_size = 50;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = kv_heads;
  c.context = 32;
  c.tie_embeddings = tie;
  return c;
}

TEST(Transformer, ParameterNamesAndShapesAreHuggingFaceLlamas) {
  torch::manual_seed(0);
  Transformer m(small_config(2));
  std::map<std::string, std::vector<int64_t>> got;
  for (const auto& p : m->named_parameters()) got[p.key()] = p.value().sizes().vec();
  const int hidden = small_config().hidden();
  std::map<std::string, std::vector<int64_t>> expect = {
      {"embed_tokens.weight", {50, 32}}, {"norm.weight", {32}}, {"lm_head.weight", {50, 32}}};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    expect[p + "self_attn.q_proj.weight"] = {32, 32};
    expect[p + "self_attn.k_proj.weight"] = {16, 32};  // 2 kv heads of 8
    expect[p + "self_attn.v_proj.weight"] = {16, 32};
    expect[p + "self_attn.o_proj.weight"] = {32, 32};
    expect[p + "mlp.gate_proj.weight"] = {hidden, 32};
    expect[p + "mlp.up_proj.weight"] = {hidden, 32};
    expect[p + "mlp.down_proj.weight"] = {32, hidden};
    expect[p + "input_layernorm.weight"] = {32};
    expect[p + "post_attention_layernorm.weight"] = {32};
  }
  EXPECT_EQ(got, expect);
  Transformer tied(small_config(0, true));
  for (const auto& p : tied->named_parameters()) EXPECT_NE(p.key(), "lm_head.weight");
  EXPECT_EQ(hidden, 96);  // 2/3 * 4 * 32 = 85.3, rounded up to a multiple of 32
}

TEST(Transformer, FutureTokensDoNotChangePastLogits) {
  torch::manual_seed(1);
  Transformer m(small_config());
  auto a = torch::randint(0, 50, {2, 12}, torch::kInt64);
  auto b = a.clone();
  b.narrow(1, 7, 5).random_(0, 50);
  const auto la = m->forward(a), lb = m->forward(b);
  EXPECT_TRUE(torch::allclose(la.narrow(1, 0, 7), lb.narrow(1, 0, 7), 0, 1e-6));
  EXPECT_FALSE(torch::allclose(la.narrow(1, 7, 5), lb.narrow(1, 7, 5), 0, 1e-3));
}

TEST(Transformer, KVCacheGivesTheSameLogitsAsAFullPass) {
  for (const int kv : {0, 2, 1}) {
    torch::manual_seed(2);
    Transformer m(small_config(kv));
    m->eval();
    torch::NoGradGuard g;
    const auto tokens = torch::randint(0, 50, {3, 20}, torch::kInt64);
    const auto full = m->forward(tokens);
    KVCache cache = m->make_cache(3, 20);
    std::vector<torch::Tensor> parts;
    parts.push_back(m->forward(tokens.narrow(1, 0, 5), &cache));   // prefill
    parts.push_back(m->forward(tokens.narrow(1, 5, 4), &cache));   // a chunk continuing the cache
    for (int t = 9; t < 20; ++t) parts.push_back(m->forward(tokens.narrow(1, t, 1), &cache));  // one by one
    const auto inc = torch::cat(parts, 1);
    EXPECT_LT((inc - full).abs().max().item<float>(), 1e-5) << "kv heads " << kv;
    EXPECT_EQ(cache.length, 20);
  }
}

TEST(FusedCpu, MatchPlainOpsForwardAndBackward) {
  torch::manual_seed(5);
  const auto x = torch::randn({3, 2, 7, 16}, torch::requires_grad());
  const auto w = (torch::randn({16}) + 1).requires_grad_();
  const auto g = torch::randn({3, 2, 7, 16});
  // RMSNorm
  const auto plain = x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-5) * w;
  const auto pg = torch::autograd::grad({plain}, {x, w}, {g});
  const auto fused_y = fused::rms_norm(x, w, 1e-5);
  const auto fg = torch::autograd::grad({fused_y}, {x, w}, {g});
  EXPECT_TRUE(torch::allclose(fused_y, plain, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(fg[0], pg[0], 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(fg[1], pg[1], 1e-4, 1e-5));
  // Rotary, with tables whose halves repeat, as the model builds them.
  const auto half = torch::randn({7, 8});
  const auto cos = torch::cat({half.cos(), half.cos()}, -1), sin = torch::cat({half.sin(), half.sin()}, -1);
  auto rot = [](const torch::Tensor& t) {
    const auto h = t.chunk(2, -1);
    return torch::cat({-h[1], h[0]}, -1);
  };
  const auto plain_r = x * cos + rot(x) * sin;
  const auto fused_r = fused::apply_rotary(x, cos, sin);
  EXPECT_TRUE(torch::allclose(fused_r, plain_r, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(torch::autograd::grad({fused_r}, {x}, {g})[0],
                              torch::autograd::grad({x * cos + rot(x) * sin}, {x}, {g})[0], 1e-5, 1e-6));
  EXPECT_FALSE(fused::applies(x.to(torch::kFloat64)));
}

TEST(Transformer, RejectsBadConfigsNamingTheField) {
  TransformerConfig c = small_config();
  c.n_heads = 3;
  try {
    c.validate();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.n_heads"), std::string::npos);
  }
  c = small_config(3);
  EXPECT_THROW(c.validate(), InputError);
  c = small_config();
  c.vocab_size = 0;
  EXPECT_THROW(c.validate(), InputError);
}

TEST(Sampling, GreedyTopKTopPAndSeeds) {
  torch::manual_seed(3);
  const auto logits = torch::randn({4, 30});
  const auto argmax = logits.argmax(-1);
  SampleOptions o;
  at::Generator g1 = at::detail::createCPUGenerator(5), g2 = at::detail::createCPUGenerator(5);
  o.temperature = 0;
  EXPECT_TRUE(torch::equal(sample_next(logits, o, g1), argmax));
  o.temperature = 1.0f;
  o.top_k = 1;
  EXPECT_TRUE(torch::equal(sample_next(logits, o, g1), argmax));
  o.top_k = 0;
  o.top_p = 1e-6f;  // only the likeliest token survives
  EXPECT_TRUE(torch::equal(sample_next(logits, o, g1), argmax));
  o.top_p = 1.0f;
  std::vector<int64_t> a, b;
  for (int i = 0; i < 20; ++i) {
    a.push_back(sample_next(logits, o, g2)[0].item<int64_t>());
  }
  at::Generator g3 = at::detail::createCPUGenerator(5);
  for (int i = 0; i < 20; ++i) b.push_back(sample_next(logits, o, g3)[0].item<int64_t>());
  EXPECT_EQ(a, b);
  EXPECT_GT(std::set<int64_t>(a.begin(), a.end()).size(), 1u);  // it does sample
  o.top_k = 3;  // top-k keeps only the 3 likeliest
  const auto top3 = std::get<1>(logits.topk(3, -1));
  for (int i = 0; i < 50; ++i) {
    const auto s = sample_next(logits, o, g3);
    for (int r = 0; r < 4; ++r) EXPECT_TRUE((top3[r] == s[r]).any().item<bool>());
  }
}

TEST(Generate, KVCacheGenerationEqualsRecomputingTheWholePrefix) {
  torch::manual_seed(4);
  Transformer m(small_config(2));
  SampleOptions o;
  o.temperature = 0;
  o.max_new_tokens = 15;
  const std::vector<int> prompt = {3, 14, 15, 9, 2};
  const auto fast = generate(m, prompt, o)[0];
  std::vector<int64_t> seq(prompt.begin(), prompt.end());
  torch::NoGradGuard g;
  for (int t = 0; t < 15; ++t) {
    const auto logits = m->forward(torch::tensor(seq, torch::kInt64).unsqueeze(0));
    seq.push_back(logits.select(1, -1).argmax(-1).item<int64_t>());
  }
  EXPECT_EQ(std::vector<int>(seq.begin() + prompt.size(), seq.end()), fast);
}

TEST(Generate, RunsPastTheContextBySlidingTheWindow) {
  torch::manual_seed(5);
  Transformer m(small_config());  // context 32
  SampleOptions o;
  o.max_new_tokens = 100;
  o.num_samples = 2;
  const auto out = generate(m, {1, 2, 3}, o);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), 100u);
  EXPECT_EQ(out[1].size(), 100u);
  EXPECT_NE(out[0], out[1]);
}

TEST(LrSchedule, WarmupCosineFloor) {
  LrSchedule s{1e-3, 1e-4, 100, 2000};
  EXPECT_NEAR(s.at(0), 1e-3 / 101, 1e-12);
  EXPECT_NEAR(s.at(99), 1e-3 * 100 / 101, 1e-12);
  EXPECT_NEAR(s.at(100), 1e-3, 1e-12);
  EXPECT_NEAR(s.at(1050), 5.5e-4, 1e-9);  // halfway down the cosine
  EXPECT_NEAR(s.at(2000), 1e-4, 1e-12);
  EXPECT_NEAR(s.at(5000), 1e-4, 1e-12);
  for (long t = 101; t < 2000; ++t) EXPECT_LE(s.at(t), s.at(t - 1));
}

TEST(TensorBoard, MaskedCrc32cMatchesTheKnownCheckValue) {
  // CRC-32C of "123456789" is 0xE3069283 (its published check value).
  const std::uint32_t crc = 0xE3069283u;
  EXPECT_EQ(masked_crc32c("123456789", 9), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

}  // namespace
}  // namespace plotforge
