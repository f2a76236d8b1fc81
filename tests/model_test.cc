#include <algorithm>
#include <random>
#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <boost/crc.hpp>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "base/error.h"
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
    parts.push_back(m->forward(tokens.narrow(1, 0, 5), &cache));  // prefill
    parts.push_back(m->forward(tokens.narrow(1, 5, 4), &cache));  // a chunk continuing the cache
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

TEST(FusedCpu, SwiGluMatchesPlainOpsForwardAndBackward) {
  torch::manual_seed(6);
  const auto gu = (torch::randn({3, 5, 2 * 13}) * 4).requires_grad_();  // F = 13: vector tails
  const auto g = torch::randn({3, 5, 13});
  const auto halves = gu.chunk(2, -1);
  const auto plain = torch::silu(halves[0]) * halves[1];
  const auto fused_h = fused::swiglu(gu);
  EXPECT_TRUE(torch::allclose(fused_h, plain, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(torch::autograd::grad({fused_h}, {gu}, {g})[0],
                              torch::autograd::grad({plain}, {gu}, {g})[0], 1e-5, 1e-5));
}

// The fused attention against the ops it replaces: split, rotary, causal
// softmax attention with kv heads shared by groups of query heads, merge.
TEST(FusedCpu, CausalSelfAttentionMatchesPlainOpsForwardAndBackward) {
  for (const int kv : {4, 2, 1}) {
    torch::manual_seed(7);
    const int64_t B = 3, T = 11, H = 4, D = 8;
    const auto qkv = torch::randn({B, T, (H + 2 * kv) * D}, torch::requires_grad());
    const auto half = torch::randn({T, D / 2});
    const auto cos = torch::cat({half.cos(), half.cos()}, -1), sin = torch::cat({half.sin(), half.sin()}, -1);
    const auto g = torch::randn({B, T, H * D});
    auto rot = [&](const torch::Tensor& t) {
      const auto h = t.chunk(2, -1);
      return t * cos + torch::cat({-h[1], h[0]}, -1) * sin;
    };
    const auto parts = qkv.split_with_sizes({H * D, kv * D, kv * D}, -1);
    const auto q = rot(parts[0].reshape({B, T, H, D}).transpose(1, 2));
    const auto k = rot(parts[1].reshape({B, T, kv, D}).transpose(1, 2)).repeat_interleave(H / kv, 1);
    const auto v = parts[2].reshape({B, T, kv, D}).transpose(1, 2).repeat_interleave(H / kv, 1);
    const auto mask = torch::ones({T, T}, torch::kBool).triu(1);
    const auto scores = torch::matmul(q, k.transpose(-1, -2)).div(std::sqrt(double(D))).masked_fill(mask, -INFINITY);
    const auto plain = torch::matmul(scores.softmax(-1), v).transpose(1, 2).reshape({B, T, H * D});
    ASSERT_TRUE(fused::causal_self_attention_applies(qkv));
    const auto fused_y = fused::causal_self_attention(qkv, cos, sin, H, kv);
    EXPECT_TRUE(torch::allclose(fused_y, plain, 1e-5, 1e-5)) << "kv heads " << kv;
    EXPECT_TRUE(torch::allclose(torch::autograd::grad({fused_y}, {qkv}, {g})[0],
                                torch::autograd::grad({plain}, {qkv}, {g})[0], 1e-4, 1e-5))
        << "kv heads " << kv;
  }
  EXPECT_FALSE(fused::causal_self_attention_applies(torch::randn({1, fused::kMaxFusedContext + 1, 24})));
}

// The model on the CPU takes the fused path; the same model in float64 takes
// the plain ops: the two agree on logits and gradients.
TEST(FusedCpu, TheModelsFusedAndPlainPathsAgree) {
  torch::manual_seed(8);
  Transformer fused_m(small_config(2));
  const auto tokens = torch::randint(0, 50, {2, 16}, torch::kInt64);
  const auto y = torch::randn({2, 16, 50});
  const auto loss32 = (fused_m->forward(tokens) * y).sum();
  const auto g32 = torch::autograd::grad({loss32}, fused_m->parameters());
  fused_m->to(torch::kFloat64);
  const auto loss64 = (fused_m->forward(tokens) * y.to(torch::kFloat64)).sum();
  const auto g64 = torch::autograd::grad({loss64}, fused_m->parameters());
  EXPECT_NEAR(loss32.item<double>(), loss64.item<double>(), 1e-4 * std::abs(loss64.item<double>()) + 1e-4);
  for (std::size_t i = 0; i < g32.size(); ++i)
    EXPECT_TRUE(torch::allclose(g32[i].to(torch::kFloat64), g64[i], 1e-3, 1e-5)) << "parameter " << i;
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

// One row of logits through the shared sampler (models/sampling.h).
int sample_row(Sampler& s, std::vector<float> row) {
  const std::vector<int> none;
  const std::vector<int> counts(row.size(), 0);
  return s.sample(row.data(), static_cast<int>(row.size()), none, counts, nullptr);
}

TEST(Sampling, GreedyTopKTopPMinPAndSeeds) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> logits(30);
  for (float& x : logits) x = normal(rng);
  const int argmax = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  SamplingParams o;
  o.temperature = 0;
  Sampler greedy(o, 5);
  EXPECT_EQ(sample_row(greedy, logits), argmax);
  o.temperature = 1.0f;
  o.top_k = 1;
  Sampler top1(o, 5);
  EXPECT_EQ(sample_row(top1, logits), argmax);
  o.top_k = 0;
  o.top_p = 1e-6f;  // only the likeliest token survives
  Sampler nucleus(o, 5);
  EXPECT_EQ(sample_row(nucleus, logits), argmax);
  o.top_p = 1.0f;
  o.min_p = 0.999f;  // likewise
  Sampler minp(o, 5);
  EXPECT_EQ(sample_row(minp, logits), argmax);
  o.min_p = 0;
  Sampler s1(o, 5), s2(o, 5);
  std::vector<int> a, b;
  for (int i = 0; i < 20; ++i) a.push_back(sample_row(s1, logits));
  for (int i = 0; i < 20; ++i) b.push_back(sample_row(s2, logits));
  EXPECT_EQ(a, b);                                          // the same seed draws the same tokens
  EXPECT_GT(std::set<int>(a.begin(), a.end()).size(), 1u);  // it does sample
  o.top_k = 3;                                              // top-k keeps only the 3 likeliest
  std::vector<float> sorted = logits;
  std::sort(sorted.rbegin(), sorted.rend());
  Sampler s3(o, 7);
  for (int i = 0; i < 50; ++i) EXPECT_GE(logits[sample_row(s3, logits)], sorted[2]);
}

TEST(Generate, KVCacheGenerationEqualsRecomputingTheWholePrefix) {
  torch::manual_seed(4);
  Transformer m(small_config(2));
  SamplingParams o;
  o.temperature = 0;
  o.max_new_tokens = 15;
  const std::vector<int> prompt = {3, 14, 15, 9, 2};
  const auto fast = generate(m, prompt, o, /*eos_id=*/-1, nullptr)[0].tokens;
  std::vector<int64_t> seq(prompt.begin(), prompt.end());
  torch::NoGradGuard g;
  for (int t = 0; t < 15; ++t) {
    const auto logits = m->forward(torch::tensor(seq, torch::kInt64).unsqueeze(0));
    seq.push_back(logits.select(1, -1).argmax(-1).item<int64_t>());
  }
  EXPECT_EQ(std::vector<int>(seq.begin() + prompt.size(), seq.end()), fast);
}

TEST(Generate, StopsAtTheContextAndSaysSo) {
  torch::manual_seed(5);
  Transformer m(small_config());  // context 32
  SamplingParams o;
  o.max_new_tokens = 100;
  o.n = 2;
  const auto out = generate(m, {1, 2, 3}, o, /*eos_id=*/-1, nullptr);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& c : out) {
    EXPECT_EQ(c.tokens.size(), 30u);  // 32 positions less the 3 of the prompt, plus the one predicted at the last
    EXPECT_EQ(c.finish_reason, "context");
  }
  EXPECT_NE(out[0].tokens, out[1].tokens);  // branch i samples with seed + i
  o.max_new_tokens = 10;
  for (const auto& c : generate(m, {1, 2, 3}, o, -1, nullptr)) {
    EXPECT_EQ(c.tokens.size(), 10u);
    EXPECT_EQ(c.finish_reason, "length");
  }
  EXPECT_NE(context_note(3, 100, 32).find("at most 30"), std::string::npos);
  EXPECT_EQ(context_note(3, 30, 32), "");
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
