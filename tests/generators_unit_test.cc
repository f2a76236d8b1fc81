// The VAE's and GAN's building blocks on small random models: padding-blind
// bidirectional encoding, the latent memory slot (causal, cache-exact,
// actually used), KL and its annealing schedule, active units and mutual
// information, and the latent GAN's shapes.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/attention.h"
#include "models/gan.h"
#include "models/generate.h"
#include "models/vae.h"
#include "training/batch_tensors.h"
#include "training/classifier_objective.h"
#include "training/gan_objective.h"
#include "training/run.h"
#include "training/vae_objective.h"

namespace plotforge {
namespace {

VAEConfig small_vae() {
  VAEConfig c;
  c.decoder.vocab_size = 50;
  c.decoder.dim = 32;
  c.decoder.n_layers = 2;
  c.decoder.n_heads = 4;
  c.decoder.n_kv_heads = 2;
  c.decoder.context = 32;
  c.latent = 8;
  return c;
}

torch::Tensor ids(std::vector<std::int64_t> v) { return torch::tensor(v, torch::kInt64).unsqueeze(0); }

TEST(BidirectionalAttention, IgnoresPaddedKeysAndSeesTheFuture) {
  torch::manual_seed(0);
  const auto q = torch::randn({1, 2, 5, 8}), k = torch::randn({1, 2, 5, 8}), v = torch::randn({1, 2, 5, 8});
  auto pad = torch::zeros({1, 5}, torch::kBool);
  pad.index_put_({0, 4}, true);
  const auto y = bidirectional_attention(q, k, v, pad);
  const auto ref = bidirectional_attention(q.narrow(2, 0, 4), k.narrow(2, 0, 4), v.narrow(2, 0, 4),
                                           torch::zeros({1, 4}, torch::kBool));
  EXPECT_TRUE(torch::allclose(y.narrow(2, 0, 4), ref, 1e-5, 1e-6));
  // Query 0 depends on key 3 (it would not under a causal mask).
  auto v2 = v.clone();
  v2.index_put_({0, 0, 3}, v2.index({0, 0, 3}) + 1);
  EXPECT_FALSE(torch::allclose(bidirectional_attention(q, k, v2, pad).index({0, 0, 0}), y.index({0, 0, 0})));
}

TEST(SceneEncoder, PoolingIsBlindToPadding) {
  torch::manual_seed(1);
  VAE vae(small_vae());
  vae->eval();
  torch::NoGradGuard no_grad;
  const auto alone = vae->encode(ids({3, 4, 5, 6}));
  // The same row beside a longer one: padded with -1 to length 7.
  const auto batch = torch::tensor({3, 4, 5, 6, -1, -1, -1, 7, 8, 9, 10, 11, 12, 13}, torch::kInt64).view({2, 7});
  const auto both = vae->encode(batch);
  EXPECT_TRUE(torch::allclose(both.mu[0], alone.mu[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(both.logvar[0], alone.logvar[0], 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(both.mu[1], alone.mu[0], 1e-5, 1e-5));
}

TEST(VAE, BatchNormalizedMeansHaveTheConfiguredSpread) {
  torch::manual_seed(6);
  VAEConfig c = small_vae();
  c.mu_scale = 0.5f;
  VAE vae(c);
  vae->train();
  const auto tokens = torch::randint(0, 50, {8, 12}, torch::kInt64);
  const auto q = vae->encode(tokens);
  // Within a training batch every dimension's mean has variance mu_scale^2
  // (a little less where the raw variance is near batch norm's epsilon).
  const auto var = q.mu.var(0, /*unbiased=*/false);
  EXPECT_LE(var.max().item<double>(), 0.25 + 1e-4) << var;
  EXPECT_GE(var.min().item<double>(), 0.22) << var;
  // In evaluation the running statistics are used: one scene alone works.
  vae->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(vae->encode(tokens.narrow(0, 0, 1)).mu.size(0), 1);
  c.mu_scale = 0;
  VAE plain(c);
  EXPECT_FALSE(plain->mu_norm);
}

TEST(VAEDecoder, MemorySlotKeepsCausalityAndCarriesTheLatent) {
  torch::manual_seed(2);
  VAE vae(small_vae());
  vae->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({1, 8});
  const auto a = vae->decode(ids({1, 2, 3, 4, 5}), z);
  const auto b = vae->decode(ids({1, 2, 3, 9, 9}), z);
  EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 3), b.narrow(1, 0, 3), 1e-5, 1e-6)) << "a later token leaked backwards";
  EXPECT_FALSE(torch::allclose(a.narrow(1, 3, 1), b.narrow(1, 3, 1), 1e-5, 1e-6));
  // Another z changes every position, the first included (through the slot
  // and the embedding offset).
  const auto c = vae->decode(ids({1, 2, 3, 4, 5}), z + 1);
  EXPECT_GT((a.select(1, 0) - c.select(1, 0)).abs().max().item<double>(), 1e-4);
}

TEST(VAEDecoder, CachedDecodingMatchesAFullPass) {
  torch::manual_seed(3);
  VAE vae(small_vae());
  vae->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({2, 8});
  const auto tokens = torch::randint(0, 50, {2, 9}, torch::kInt64);
  const auto full = vae->decode(tokens, z);
  const Conditioning cond = vae->condition(z);
  KVCache cache = vae->decoder->make_cache(2, 16);
  const auto first = vae->decoder->forward(tokens.narrow(1, 0, 5), &cache, &cond);
  std::vector<torch::Tensor> parts = {first};
  for (int t = 5; t < 9; ++t) parts.push_back(vae->decoder->forward(tokens.narrow(1, t, 1), &cache, &cond));
  EXPECT_TRUE(torch::allclose(torch::cat(parts, 1), full, 1e-4, 1e-5));
}

// The embedding offset starts at zero unless offset_init asks for a random
// start of that spread.
TEST(VAE, EmbeddingOffsetStartsAtZeroOrAtTheConfiguredSpread) {
  torch::manual_seed(3);
  VAEConfig c = small_vae();
  EXPECT_EQ(VAE(c)->latent_to_embedding->weight.abs().max().item<float>(), 0.f);
  c.offset_init = 0.05f;
  const auto w = VAE(c)->latent_to_embedding->weight;
  EXPECT_NEAR(w.std().item<double>(), 0.05, 0.01);
}

TEST(VAE, KlPerDimensionIsTheClosedForm) {
  const Posterior q{torch::tensor({{0.0, 1.0}, {2.0, -1.0}}), torch::tensor({{0.0, std::log(4.0)}, {-1.0, 0.0}})};
  const auto kl = kl_per_dimension(q);
  // 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2)
  EXPECT_NEAR(kl[0][0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(kl[0][1].item<double>(), 0.5 * (1 + 4 - 1 - std::log(4.0)), 1e-6);
  EXPECT_NEAR(kl[1][0].item<double>(), 0.5 * (4 + std::exp(-1.0) - 1 + 1), 1e-6);
  EXPECT_NEAR(kl[1][1].item<double>(), 0.5, 1e-12);
}

TEST(VAE, CyclicalBetaSchedule) {
  VAESettings s;
  s.cycles = 2;
  s.zero_ratio = 0.5;
  s.ramp_ratio = 0.25;
  s.beta_max = 2.0;
  // 400 steps: cycles of 200; in each, 0 for 100 steps, a ramp over 50, then 2.
  EXPECT_EQ(cyclical_beta(s, 0, 400), 0.0);
  EXPECT_EQ(cyclical_beta(s, 99, 400), 0.0);
  EXPECT_NEAR(cyclical_beta(s, 125, 400), 1.0, 1e-12);
  EXPECT_EQ(cyclical_beta(s, 160, 400), 2.0);
  EXPECT_EQ(cyclical_beta(s, 200, 400), 0.0);  // the second cycle starts over
  EXPECT_NEAR(cyclical_beta(s, 340, 400), 1.6, 1e-12);
}

TEST(LatentStats, ActiveUnitsAndMutualInformation) {
  torch::manual_seed(4);
  const int n = 200, d = 6;
  // Dimensions 0-2 carry the scene (means spread out, posteriors narrow);
  // 3-5 are collapsed (mean 0, posterior = prior).
  auto mu = torch::zeros({n, d}, torch::kFloat64);
  mu.narrow(1, 0, 3).copy_(torch::randn({n, 3}, torch::kFloat64) * 3);
  auto logvar = torch::zeros({n, d}, torch::kFloat64);
  logvar.narrow(1, 0, 3).fill_(std::log(1e-4));
  const LatentStats s = latent_stats(mu, logvar);
  EXPECT_EQ(s.active_units, 3);
  // Narrow, well-separated posteriors: I(x;z) approaches its ceiling log n.
  EXPECT_GT(s.mutual_information, 0.95 * std::log(n));
  EXPECT_LE(s.mutual_information, std::log(n) + 1e-6);
  // Every posterior the prior: no information (up to the estimator's
  // Monte Carlo noise, about sqrt(d / 2 / n) = 0.12 here).
  const LatentStats none = latent_stats(torch::zeros({n, d}, torch::kFloat64), torch::zeros({n, d}, torch::kFloat64));
  EXPECT_EQ(none.active_units, 0);
  EXPECT_NEAR(none.mutual_information, 0.0, 0.4);
}

TEST(PaddedRows, DropsTheGivenIdsAndPads) {
  const auto t = padded_rows({{5, 1, 2, 6}, {7, 5}}, {5, 6}, 10, torch::kCPU);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1, 2, 7, -1}, torch::kInt64).view({2, 2})));
  EXPECT_EQ(padded_rows({{1, 2, 3, 4}}, {}, 3, torch::kCPU).size(1), 3);
}

TEST(LatentGAN, ShapesAndGenreConditioning) {
  torch::manual_seed(5);
  GANConfig c;
  c.latent = 8;
  c.noise = 4;
  c.hidden = 16;
  c.n_genres = 3;
  LatentGenerator g(c);
  LatentCritic d(c);
  const auto noise = torch::randn({5, 4});
  const auto z0 = g(noise, torch::zeros({5}, torch::kInt64));
  const auto z1 = g(noise, torch::ones({5}, torch::kInt64));
  EXPECT_EQ(z0.sizes(), (std::vector<int64_t>{5, 8}));
  EXPECT_FALSE(torch::allclose(z0, z1));
  EXPECT_EQ(d(z0, torch::full({5}, -1, torch::kInt64)).sizes(), (std::vector<int64_t>{5}));
  c.layers = 1;
  EXPECT_THROW(LatentGenerator{c}, std::exception);
}

}  // namespace
}  // namespace plotforge
