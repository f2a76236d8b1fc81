#include "training/generators.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "datasets/annotations.h"
#include "datasets/error.h"
#include "datasets/loader.h"
#include "training/checkpoint.h"

namespace plotforge {

namespace fs = std::filesystem;
using nlohmann::json;

double cyclical_beta(const VAESettings& s, long step, long max_steps) {
  const double period = static_cast<double>(max_steps) / std::max(1, s.cycles);
  const double t = std::fmod(static_cast<double>(step), period) / period;  // position within the cycle, [0, 1)
  if (t < s.zero_ratio) return 0.0;
  if (s.ramp_ratio > 0 && t < s.zero_ratio + s.ramp_ratio) return s.beta_max * (t - s.zero_ratio) / s.ramp_ratio;
  return s.beta_max;
}

LatentStats latent_stats(const torch::Tensor& mu_in, const torch::Tensor& logvar_in, double threshold,
                         std::uint64_t seed) {
  const auto mu = mu_in.to(torch::kFloat64).cpu(), logvar = logvar_in.to(torch::kFloat64).cpu();
  LatentStats s;
  const int64_t n = mu.size(0), d = mu.size(1);
  if (n < 2) return s;
  s.active_units = static_cast<int>(mu.var(0, /*unbiased=*/true).gt(threshold).sum().item<int64_t>());
  // E_x E_q log q(z|x): the negative entropy of each Gaussian posterior.
  const double log2pi = std::log(2 * M_PI);
  const double neg_entropy = (-0.5 * d * log2pi - 0.5 * (1 + logvar).sum(1)).mean().item<double>();
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const auto z = mu + (0.5 * logvar).exp() * at::randn(mu.sizes(), gen, mu.options());  // [n, d]
  // log q(z_j | x_i) for all pairs: [n_z, n_x]
  const auto diff = z.unsqueeze(1) - mu.unsqueeze(0);
  const auto var = logvar.exp().unsqueeze(0);
  const auto log_density = -0.5 * (diff.pow(2) / var).sum(-1) - 0.5 * (d * log2pi + logvar.sum(-1).unsqueeze(0));
  const auto log_qz = log_density.logsumexp(1) - std::log(static_cast<double>(n));
  s.mutual_information = neg_entropy - log_qz.mean().item<double>();
  return s;
}

torch::Tensor padded_rows(const std::vector<std::vector<int>>& rows, const std::vector<int>& drop, int max_tokens,
                          const c10::Device& device) {
  std::vector<std::vector<int>> kept(rows.size());
  std::size_t width = 1;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (int id : rows[r]) {
      if (static_cast<int>(kept[r].size()) >= max_tokens) break;
      if (std::find(drop.begin(), drop.end(), id) == drop.end()) kept[r].push_back(id);
    }
    width = std::max(width, kept[r].size());
  }
  std::vector<std::int32_t> flat(rows.size() * width, -1);
  for (std::size_t r = 0; r < rows.size(); ++r) std::copy(kept[r].begin(), kept[r].end(), flat.begin() + r * width);
  return token_tensor(flat, static_cast<int>(rows.size()), static_cast<int>(width), device);
}

std::vector<std::vector<int>> scene_rows(const SceneBatch& b) {
  std::vector<std::vector<int>> rows(b.batch);
  for (int r = 0; r < b.batch; ++r) {
    rows[r].assign(b.tokens.begin() + static_cast<long>(r) * b.length,
                   b.tokens.begin() + static_cast<long>(r) * b.length + b.lengths[r]);
  }
  return rows;
}

void recalibrate_latent_norm(VAE& vae, std::shared_ptr<const CorpusData> corpus) {
  if (!vae->mu_norm) return;
  torch::NoGradGuard no_grad;
  const bool training = vae->is_training();
  vae->eval();
  LoaderOptions lo;
  lo.batch_size = 1;
  lo.prefetch = 0;
  SceneLoader loader(std::move(corpus), vae->config().decoder.context, lo);
  const auto device = vae->decoder->embed_tokens->weight.device();
  std::vector<std::vector<int>> rows;
  for (std::uint64_t i = 0; i < loader.scenes(); ++i) rows.push_back(scene_rows(loader.make(i))[0]);
  std::vector<torch::Tensor> means;
  for (std::size_t i = 0; i < rows.size(); i += 16) {
    const std::vector<std::vector<int>> chunk(rows.begin() + i, rows.begin() + std::min(rows.size(), i + 16));
    means.push_back(vae->raw_mean(padded_rows(chunk, {}, 1 << 30, device)).to(torch::kFloat32));
  }
  const auto all = torch::cat(means);
  vae->mu_norm->running_mean.copy_(all.mean(0));
  vae->mu_norm->running_var.copy_(all.var(0, /*unbiased=*/true));
  vae->train(training);
}

std::map<std::string, torch::Tensor> attribute_vectors(VAE& vae, std::shared_ptr<const CorpusData> corpus,
                                                       const std::string& label) {
  if (label != "genre" && label != "beat") throw InputError("attribute: '" + label + "' is not genre or beat");
  torch::NoGradGuard no_grad;
  LoaderOptions lo;
  lo.batch_size = 1;
  lo.prefetch = 0;
  SceneLoader loader(std::move(corpus), vae->config().decoder.context, lo);
  const auto device = vae->decoder->embed_tokens->weight.device();
  std::map<int, std::pair<torch::Tensor, long>> by_value;
  torch::Tensor total;
  const std::uint64_t n = loader.scenes();
  for (std::uint64_t i = 0; i < n; ++i) {
    const SceneBatch b = loader.make(i);
    const auto mu = vae->encode(token_tensor(b.tokens, 1, b.length, device)).mu.squeeze(0).to(torch::kFloat32).cpu();
    total = total.defined() ? total + mu : mu;
    auto& [sum, count] = by_value[label == "genre" ? b.genre[0] : b.beat[0]];
    sum = sum.defined() ? sum + mu : mu;
    ++count;
  }
  const auto mean = total / static_cast<double>(n);
  const auto& names = label == "genre" ? loader.genres() : beat_vocabulary();
  std::map<std::string, torch::Tensor> out;
  for (const auto& [v, sc] : by_value) {
    if (v >= 0) out[names[v]] = sc.first / static_cast<double>(sc.second) - mean;
  }
  return out;
}

namespace {

torch::Tensor labels(const std::vector<std::int32_t>& v, const torch::Device& device) {
  return torch::tensor(std::vector<std::int64_t>(v.begin(), v.end()), torch::kInt64).to(device);
}

// Cross-entropy over the labeled rows only (-1: unlabeled); 0 when none is.
torch::Tensor labeled_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target, long* correct,
                                    long* count) {
  const auto keep = target.ge(0);
  const long n = keep.sum().item<long>();
  if (count) *count += n;
  if (n == 0) return logits.sum() * 0;
  const auto l = logits.index({keep}).to(torch::kFloat32), t = target.index({keep});
  if (correct) *correct += l.argmax(-1).eq(t).sum().item<long>();
  return torch::nn::functional::cross_entropy(l, t);
}

// Scenes cut to the model's context: inputs are the scene's tokens with
// padding as 0, targets the next tokens with padding and the last position
// as -1 (ignored).
struct SceneTensors {
  torch::Tensor tokens;   // [B, T], -1 padding
  torch::Tensor inputs;   // [B, T]
  torch::Tensor targets;  // [B, T]
  long n_targets = 0;
};

SceneTensors scene_tensors(const SceneBatch& b, const torch::Device& device) {
  SceneTensors s;
  s.tokens = token_tensor(b.tokens, b.batch, b.length, device);
  s.inputs = s.tokens.clamp_min(0);
  s.targets = torch::cat({s.tokens.narrow(1, 1, b.length - 1), torch::full({b.batch, 1}, -1, s.tokens.options())}, 1);
  for (int len : b.lengths) s.n_targets += std::max(0, len - 1);
  return s;
}

// Summed next-token NLL per row, [B], with padding ignored.
torch::Tensor row_nll(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto lf = logits.to(torch::kFloat32);
  const auto nll = torch::nn::functional::cross_entropy(
      lf.view({-1, lf.size(-1)}), targets.reshape(-1),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1).reduction(torch::kNone));
  return nll.view(targets.sizes()).sum(1);
}

class VAEObjective : public Objective {
 public:
  VAEObjective(TrainContext& ctx, const TrainOptions& o, const VAESettings& s)
      : ctx_(ctx), o_(o), s_(s), model_(config(ctx, o, s)),
        train_(ctx.corpus, o.model.context, windows(ctx.loader(Split::kTrain), s.scene_windows)),
        val_(ctx.corpus, o.model.context, ctx.loader(Split::kValidation)) {
    if (!s.init_decoder.empty()) init_decoder(s.init_decoder);
    model_->to(ctx.device);
  }
  // Starts the decoder from a trained Transformer. (A resumed run then
  // overwrites it with its own checkpoint.)
  void init_decoder(const std::string& run) {
    const OpenedRun opened = open_run(run, "transformer");
    const std::string& ckpt = opened.checkpoint;
    const CheckpointState& st = opened.state;
    if (st.tokenizer_sha256 != ctx_.corpus->tokenizer_sha256) {
      throw InputError(ckpt + ": --vae.init_decoder was trained with another tokenizer than " + o_.data + " uses");
    }
    const TransformerConfig& a = st.model;
    const TransformerConfig& b = model_->config().decoder;
    if (a.dim != b.dim || a.n_layers != b.n_layers || a.n_heads != b.n_heads || a.kv_heads() != b.kv_heads() ||
        a.hidden() != b.hidden() || a.tie_embeddings != b.tie_embeddings || a.vocab_size != b.vocab_size) {
      throw InputError(ckpt + ": --vae.init_decoder needs a Transformer of the decoder's shape (model.dim, n_layers, "
                       "n_heads, n_kv_heads, ffn_hidden, tie_embeddings)");
    }
    load_checkpoint(ckpt, {model_->decoder.get()});
    std::fprintf(stderr, "VAE decoder initialized from %s (step %ld)\n", ckpt.c_str(), st.step);
  }
  static LoaderOptions windows(LoaderOptions lo, bool on) {
    lo.scene_windows = on;
    return lo;
  }
  static VAEConfig config(const TrainContext& ctx, const TrainOptions& o, const VAESettings& s) {
    VAEConfig c;
    c.decoder = o.model;
    c.decoder.vocab_size = ctx.corpus->vocab_size;
    c.latent = s.latent;
    c.encoder_layers = s.encoder_layers;
    c.mu_scale = static_cast<float>(s.mu_scale);
    c.offset_init = static_cast<float>(s.offset_init);
    c.validate();
    return c;
  }
  std::string kind() const override { return "vae"; }
  torch::nn::Module& model() override { return *model_; }
  std::string settings_json() const override {
    return json({{"latent", s_.latent}, {"encoder_layers", s_.encoder_layers}, {"beta_max", s_.beta_max},
                          {"cycles", s_.cycles}, {"zero_ratio", s_.zero_ratio}, {"ramp_ratio", s_.ramp_ratio},
                          {"free_bits", s_.free_bits}, {"mu_scale", s_.mu_scale},
                          {"offset_init", s_.offset_init}, {"init_decoder", s_.init_decoder}}).dump();
  }
  std::string describe() const override {
    long n = 0;
    for (const auto& p : model_->parameters()) n += p.numel();
    char buf[256];
    const auto& d = o_.model;
    std::snprintf(buf, sizeof buf,
                  "VAE: %.2fM parameters (encoder %d layers, decoder %d layers, width %d, latent %d); "
                  "beta up to %.2f over %d cycles, free bits %.2f, BN means x%.2f; %llu training scenes",
                  n / 1e6, model_->config().enc_layers(), d.n_layers, d.dim, s_.latent, s_.beta_max, s_.cycles,
                  s_.free_bits, s_.mu_scale, static_cast<unsigned long long>(train_.scenes()));
    return buf;
  }
  long units_per_micro_batch() const override { return static_cast<long>(o_.batch_size); }
  std::string unit() const override { return "scenes"; }

  torch::Tensor loss(long step, Scalars* logs) override {
    const SceneTensors t = scene_tensors(train_.next(), ctx_.device);
    const Posterior q = model_->encode(t.tokens);
    const auto z = VAEImpl::sample(q);
    const auto nll = row_nll(model_->decode(t.inputs, z), t.targets);  // [B]
    const auto kl_dim = kl_per_dimension(q).to(torch::kFloat32).mean(0);  // [latent]
    const double beta = cyclical_beta(s_, step, o_.max_steps);
    const auto kl_term = kl_dim.clamp_min(s_.free_bits).sum();
    const auto loss = nll.mean() + beta * kl_term;
    (*logs)["beta"] = beta;
    (*logs)["kl"] = kl_dim.sum().item<double>();
    (*logs)["recon_nll_per_token"] = nll.sum().item<double>() / std::max<long>(1, t.n_targets);
    return loss;
  }

  Scalars evaluate() override {
    recalibrate_latent_norm(model_, ctx_.corpus);
    double nll_mean = 0, nll_sample = 0, kl = 0;
    long tokens = 0, scenes = 0;
    std::vector<torch::Tensor> mus, logvars;
    at::Generator gen = at::detail::createCPUGenerator(o_.seed);
    for (int i = 0; i < o_.eval_batches; ++i) {
      const SceneTensors t = scene_tensors(val_.make(static_cast<std::uint64_t>(i)), ctx_.device);
      const Posterior q = model_->encode(t.tokens);
      const auto eps = at::randn(q.mu.sizes(), gen, q.mu.options().device(torch::kCPU)).to(ctx_.device);
      nll_mean += row_nll(model_->decode(t.inputs, q.mu), t.targets).sum().item<double>();
      nll_sample += row_nll(model_->decode(t.inputs, q.mu + (0.5 * q.logvar).exp() * eps), t.targets).sum().item<double>();
      kl += kl_per_dimension(q).sum().item<double>();
      tokens += t.n_targets;
      scenes += t.tokens.size(0);
      mus.push_back(q.mu.cpu());
      logvars.push_back(q.logvar.cpu());
    }
    const LatentStats st = latent_stats(torch::cat(mus), torch::cat(logvars), 0.01, o_.seed);
    tokens = std::max<long>(1, tokens);
    return {{"val_loss", (nll_sample + kl) / tokens},  // the negative ELBO per token
            {"recon_ppl", std::exp(nll_mean / tokens)},
            {"bound_ppl", std::exp((nll_sample + kl) / tokens)},
            {"kl", kl / scenes},
            {"active_units", st.active_units},
            {"mutual_information", st.mutual_information}};
  }
  std::uint64_t data_position() const override { return train_.position(); }
  void set_data_position(std::uint64_t p) override { train_.set_position(p); }

 private:
  TrainContext& ctx_;
  TrainOptions o_;
  VAESettings s_;
  VAE model_;
  SceneLoader train_, val_;
};

class GANObjective : public Objective {
 public:
  GANObjective(TrainContext& ctx, const TrainOptions& o, const GANSettings& s)
      : ctx_(ctx), o_(o), s_(s), vae_(load_vae(s.vae)),
        train_(ctx.corpus, vae_.model->config().decoder.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, vae_.model->config().decoder.context, ctx.loader(Split::kValidation)),
        config_(make_config()), generator_(config_), critic_(config_) {
    if (vae_.tokenizer_sha256 != ctx.corpus->tokenizer_sha256) {
      throw InputError(vae_.checkpoint + ": the VAE was trained with another tokenizer than " + o.data + " uses");
    }
    vae_.model->to(ctx.device);
    recalibrate_latent_norm(vae_.model, ctx.corpus);
    vae_.model->eval();
    for (auto& p : vae_.model->parameters()) p.set_requires_grad(false);
    generator_->to(ctx.device);
    critic_->to(ctx.device);
    critic_optimizer_ = std::make_unique<torch::optim::Adam>(
        critic_->parameters(), torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}));
  }
  GANConfig make_config() const {
    GANConfig c;
    c.latent = vae_.model->config().latent;
    c.noise = s_.noise;
    c.hidden = s_.hidden;
    c.layers = s_.layers;
    c.n_genres = s_.condition_on_genre ? static_cast<int>(train_.genres().size()) : 0;
    c.validate();
    return c;
  }
  std::string kind() const override { return "gan"; }
  torch::nn::Module& model() override { return *generator_; }
  torch::nn::Module* aux_model() override { return critic_.get(); }
  torch::optim::Optimizer* aux_optimizer() override { return critic_optimizer_.get(); }
  std::string settings_json() const override {
    const GANConfig& c = config_;
    return json({{"vae", fs::absolute(vae_.checkpoint).string()}, {"latent", c.latent}, {"noise", c.noise},
                          {"hidden", c.hidden}, {"layers", c.layers}, {"n_genres", c.n_genres},
                          {"genre_dim", c.genre_dim}, {"genres", train_.genres()}, {"n_critic", s_.n_critic},
                          {"gp", s_.gp}}).dump();
  }
  std::string describe() const override {
    const GANConfig& c = config_;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "latent GAN (WGAN-GP): MLPs of %d layers, width %d, noise %d -> latent %d, %s; %d critic steps per "
                  "generator step, gp %.1f; VAE %s",
                  c.layers, c.hidden, c.noise, c.latent,
                  c.n_genres ? ("conditioned on " + std::to_string(c.n_genres) + " genres").c_str() : "unconditioned",
                  s_.n_critic, s_.gp, vae_.checkpoint.c_str());
    return buf;
  }
  long units_per_micro_batch() const override { return static_cast<long>(o_.batch_size) * s_.n_critic; }
  std::string unit() const override { return "scenes"; }

  torch::Tensor loss(long, Scalars* logs) override {
    double wd = 0, gp_sum = 0;
    for (int i = 0; i < s_.n_critic; ++i) {
      const auto [real, genre] = real_codes(train_.next());
      const auto fake = generate(real.size(0), genre).detach();
      critic_optimizer_->zero_grad();
      const auto w = critic_(real, genre).mean() - critic_(fake, genre).mean();
      const auto penalty = gradient_penalty(real, fake, genre);
      const auto critic_loss = -w + s_.gp * penalty;
      critic_loss.backward();
      if (average_gradients) average_gradients(critic_->parameters());
      critic_optimizer_->step();
      wd += w.item<double>() / s_.n_critic;
      gp_sum += penalty.item<double>() / s_.n_critic;
    }
    critic_optimizer_->zero_grad();
    // The generator's step: codes for the genres of a real batch's size.
    const int n_genres = config_.n_genres;
    const auto genre = (n_genres > 0 ? torch::randint(0, n_genres, {o_.batch_size}, torch::kInt64)
                                     : torch::full({o_.batch_size}, -1, torch::kInt64))
                           .to(ctx_.device);
    const auto g_loss = -critic_(generate(o_.batch_size, genre), genre).mean();
    (*logs)["wasserstein"] = wd;
    (*logs)["gradient_penalty"] = gp_sum;
    return g_loss;
  }

  Scalars evaluate() override {
    double wd = 0;
    at::Generator gen = at::detail::createCPUGenerator(o_.seed);
    std::vector<torch::Tensor> reals, fakes;
    for (int i = 0; i < o_.eval_batches; ++i) {
      const auto [real, genre] = real_codes(val_.make(static_cast<std::uint64_t>(i)));
      const auto noise = at::randn({real.size(0), s_.noise}, gen, torch::kFloat32).to(ctx_.device);
      const auto fake = generator_(noise, genre);
      wd += (critic_(real, genre).mean() - critic_(fake, genre).mean()).item<double>();
      reals.push_back(real.cpu());
      fakes.push_back(fake.cpu());
    }
    // How far the generated codes' moments are from the real ones'.
    const auto r = torch::cat(reals), f = torch::cat(fakes);
    const double mean_gap = (r.mean(0) - f.mean(0)).norm().item<double>();
    const double std_gap = (r.std(0) - f.std(0)).norm().item<double>();
    // The critic's estimate moves with the critic, so best.pt is chosen by
    // the moment gaps instead.
    return {{"val_loss", mean_gap + std_gap}, {"wasserstein", wd / o_.eval_batches}, {"mean_gap", mean_gap},
            {"std_gap", std_gap}};
  }
  std::uint64_t data_position() const override { return train_.position(); }
  void set_data_position(std::uint64_t p) override { train_.set_position(p); }

 private:
  // Posterior means of a batch of real scenes, and their genres. The VAE is
  // frozen, so each scene's mean is computed once and kept.
  std::pair<torch::Tensor, torch::Tensor> real_codes(const SceneBatch& b) {
    torch::NoGradGuard no_grad;
    // One scene at a time: a scene's code must not depend on the padding of
    // the batch it first came in (exact resume rebuilds the cache).
    const auto rows = scene_rows(b);
    for (int r = 0; r < b.batch; ++r) {
      if (codes_.count(b.scene[r])) continue;
      codes_[b.scene[r]] = vae_.model->encode(padded_rows({rows[r]}, {}, 1 << 30, ctx_.device)).mu[0].to(torch::kFloat32);
    }
    std::vector<torch::Tensor> z;
    for (int r = 0; r < b.batch; ++r) z.push_back(codes_.at(b.scene[r]));
    const auto genre = config_.n_genres > 0 ? labels(b.genre, ctx_.device) : torch::full({b.batch}, -1, torch::kInt64);
    return {torch::stack(z), genre.to(ctx_.device)};
  }
  torch::Tensor generate(int64_t n, const torch::Tensor& genre) {
    return generator_(torch::randn({n, s_.noise}, torch::kFloat32).to(ctx_.device), genre);
  }
  // E[(||grad critic(x_hat)|| - 1)^2] at random points between real and fake.
  torch::Tensor gradient_penalty(const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& genre) {
    const auto alpha = torch::rand({real.size(0), 1}, real.options());
    const auto x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(true);
    const auto score = critic_(x, genre);
    const auto grad = torch::autograd::grad({score.sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    return (grad.norm(2, 1) - 1).pow(2).mean();
  }

  TrainContext& ctx_;
  TrainOptions o_;
  GANSettings s_;
  LoadedVAE vae_;
  SceneLoader train_, val_;
  GANConfig config_;
  LatentGenerator generator_;
  LatentCritic critic_;
  std::unique_ptr<torch::optim::Adam> critic_optimizer_;
  std::map<std::uint32_t, torch::Tensor> codes_;
};

class ClassifierObjective : public Objective {
 public:
  ClassifierObjective(TrainContext& ctx, const TrainOptions& o)
      : ctx_(ctx), o_(o), train_(ctx.corpus, o.model.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, o.model.context, ctx.loader(Split::kValidation)), model_(config()) {
    model_->to(ctx.device);
    for (const auto& [name, id] : ctx.corpus->control_tokens) control_ids_.push_back(id);
  }
  ClassifierConfig config() const {
    ClassifierConfig c;
    c.encoder = o_.model;
    c.encoder.vocab_size = ctx_.corpus->vocab_size;
    c.n_genres = static_cast<int>(train_.genres().size());
    c.n_beats = static_cast<int>(beat_vocabulary().size());
    c.n_emotions = static_cast<int>(emotion_vocabulary().size());
    return c;
  }
  std::string kind() const override { return "classifier"; }
  torch::nn::Module& model() override { return *model_; }
  std::string settings_json() const override { return json({{"genres", train_.genres()}}).dump(); }
  std::string describe() const override {
    char buf[200];
    std::snprintf(buf, sizeof buf, "scene classifier: encoder of %d layers, width %d; %zu genres, %zu beats, %zu emotions",
                  o_.model.n_layers, o_.model.dim, train_.genres().size(), beat_vocabulary().size(),
                  emotion_vocabulary().size());
    return buf;
  }
  long units_per_micro_batch() const override { return static_cast<long>(o_.batch_size); }
  std::string unit() const override { return "scenes"; }
  torch::Tensor loss(long, Scalars*) override { return batch_loss(train_.next(), nullptr); }
  Scalars evaluate() override {
    Counts c;
    double total = 0;
    for (int i = 0; i < o_.eval_batches; ++i) total += batch_loss(val_.make(static_cast<std::uint64_t>(i)), &c).item<double>();
    Scalars s{{"val_loss", total / o_.eval_batches}};
    auto acc = [](long ok, long n) { return n > 0 ? static_cast<double>(ok) / n : -1.0; };
    s["genre_accuracy"] = acc(c.ok[0], c.n[0]);
    s["beat_accuracy"] = acc(c.ok[1], c.n[1]);
    s["emotion_accuracy"] = acc(c.ok[2], c.n[2]);
    return s;
  }
  std::uint64_t data_position() const override { return train_.position(); }
  void set_data_position(std::uint64_t p) override { train_.set_position(p); }

 private:
  struct Counts {
    long ok[3] = {0, 0, 0}, n[3] = {0, 0, 0};
  };
  torch::Tensor batch_loss(const SceneBatch& b, Counts* c) {
    const auto logits = model_->forward(padded_rows(scene_rows(b), control_ids_, o_.model.context, ctx_.device));
    return labeled_cross_entropy(logits.genre, labels(b.genre, ctx_.device), c ? &c->ok[0] : nullptr, c ? &c->n[0] : nullptr) +
           labeled_cross_entropy(logits.beat, labels(b.beat, ctx_.device), c ? &c->ok[1] : nullptr, c ? &c->n[1] : nullptr) +
           labeled_cross_entropy(logits.emotion, labels(b.emotion, ctx_.device), c ? &c->ok[2] : nullptr, c ? &c->n[2] : nullptr);
  }
  TrainContext& ctx_;
  TrainOptions o_;
  SceneLoader train_, val_;
  SceneClassifier model_;
  std::vector<int> control_ids_;
};

void check_vae_settings(const VAESettings& s) {
  auto bad = [](const std::string& f, const std::string& why) { return InputError("vae." + f + ": " + why); };
  if (s.latent < 1) throw bad("latent", "must be positive");
  if (s.cycles < 1) throw bad("cycles", "must be at least 1");
  if (s.zero_ratio < 0 || s.ramp_ratio < 0 || s.zero_ratio + s.ramp_ratio > 1) {
    throw bad("zero_ratio/ramp_ratio", "need 0 <= zero_ratio, ramp_ratio and zero_ratio + ramp_ratio <= 1");
  }
  if (s.beta_max < 0) throw bad("beta_max", "must not be negative");
  if (s.free_bits < 0) throw bad("free_bits", "must not be negative");
  if (s.mu_scale < 0) throw bad("mu_scale", "must not be negative (0 turns batch-normalized means off)");
  if (s.offset_init < 0) throw bad("offset_init", "must not be negative (0 starts the embedding offset at zero)");
}

// A run of `kind` with its settings_json parsed.
struct Opened : OpenedRun {
  json settings;
};

Opened open_checkpoint(const std::string& path, const std::string& kind) {
  Opened o{open_run(path, kind), {}};
  try {
    o.settings = json::parse(o.state.settings_json);
  } catch (const json::exception& e) {
    throw InputError(o.checkpoint + ": settings_json is not JSON (" + e.what() + ")");
  }
  return o;
}

}  // namespace

TrainResult train_vae(const TrainOptions& options, const VAESettings& vae) {
  check_vae_settings(vae);
  TrainContext ctx = begin_training(options);
  VAEObjective objective(ctx, options, vae);
  return run_training(ctx, objective, options);
}

TrainResult train_gan(const TrainOptions& options, const GANSettings& gan) {
  if (gan.vae.empty()) throw InputError("gan.vae: give the VAE run directory the GAN learns the latent space of");
  if (gan.n_critic < 1) throw InputError("gan.n_critic: must be at least 1");
  if (gan.gp < 0) throw InputError("gan.gp: must not be negative");
  TrainContext ctx = begin_training(options);
  GANObjective objective(ctx, options, gan);
  return run_training(ctx, objective, options);
}

TrainResult train_classifier(const TrainOptions& options) {
  TrainContext ctx = begin_training(options);
  ClassifierObjective objective(ctx, options);
  return run_training(ctx, objective, options);
}

LoadedVAE load_vae(const std::string& path) {
  const Opened o = open_checkpoint(path, "vae");
  LoadedVAE v;
  v.checkpoint = o.checkpoint;
  v.tokenizer = o.tokenizer_path;
  v.tokenizer_sha256 = o.state.tokenizer_sha256;
  try {
    v.settings.latent = o.settings.at("latent").get<int>();
    v.settings.encoder_layers = o.settings.at("encoder_layers").get<int>();
    v.settings.beta_max = o.settings.at("beta_max").get<double>();
    v.settings.cycles = o.settings.at("cycles").get<int>();
    v.settings.zero_ratio = o.settings.at("zero_ratio").get<double>();
    v.settings.ramp_ratio = o.settings.at("ramp_ratio").get<double>();
    v.settings.free_bits = o.settings.at("free_bits").get<double>();
    v.settings.mu_scale = o.settings.at("mu_scale").get<double>();
    v.settings.offset_init = o.settings.value("offset_init", 0.0);  // absent before it existed
  } catch (const json::exception& e) {
    throw InputError(o.checkpoint + ": VAE settings incomplete (" + e.what() + ")");
  }
  VAEConfig c;
  c.decoder = o.state.model;
  c.latent = v.settings.latent;
  c.encoder_layers = v.settings.encoder_layers;
  c.mu_scale = static_cast<float>(v.settings.mu_scale);
  v.model = VAE(c);
  load_checkpoint(v.checkpoint, {v.model.get()});
  v.model->eval();
  return v;
}

LoadedGAN load_gan(const std::string& path) {
  const Opened o = open_checkpoint(path, "gan");
  LoadedGAN g;
  g.checkpoint = o.checkpoint;
  try {
    g.config.latent = o.settings.at("latent").get<int>();
    g.config.noise = o.settings.at("noise").get<int>();
    g.config.hidden = o.settings.at("hidden").get<int>();
    g.config.layers = o.settings.at("layers").get<int>();
    g.config.n_genres = o.settings.at("n_genres").get<int>();
    g.config.genre_dim = o.settings.at("genre_dim").get<int>();
    g.genres = o.settings.at("genres").get<std::vector<std::string>>();
    g.vae = o.settings.at("vae").get<std::string>();
  } catch (const json::exception& e) {
    throw InputError(o.checkpoint + ": GAN settings incomplete (" + e.what() + ")");
  }
  g.generator = LatentGenerator(g.config);
  load_checkpoint(g.checkpoint, {g.generator.get()});
  g.generator->eval();
  return g;
}

LoadedClassifier load_classifier(const std::string& path) {
  const Opened o = open_checkpoint(path, "classifier");
  LoadedClassifier c;
  c.checkpoint = o.checkpoint;
  c.tokenizer = o.tokenizer_path;
  c.tokenizer_sha256 = o.state.tokenizer_sha256;
  try {
    c.genres = o.settings.at("genres").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw InputError(o.checkpoint + ": classifier settings incomplete (" + e.what() + ")");
  }
  ClassifierConfig cc;
  cc.encoder = o.state.model;
  cc.n_genres = static_cast<int>(c.genres.size());
  cc.n_beats = static_cast<int>(beat_vocabulary().size());
  cc.n_emotions = static_cast<int>(emotion_vocabulary().size());
  c.model = SceneClassifier(cc);
  load_checkpoint(c.checkpoint, {c.model.get()});
  c.model->eval();
  return c;
}

}  // namespace plotforge
