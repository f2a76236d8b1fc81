#include "training/vae_objective.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "base/error.h"
#include "datasets/annotations.h"
#include "datasets/loader.h"
#include "training/batch_tensors.h"
#include "training/run.h"

namespace plotforge {

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

void VAESettings::validate() const {
  auto bad = [](const std::string& f, const std::string& why) { return InputError("vae." + f + ": " + why); };
  if (latent < 1) throw bad("latent", "must be positive");
  if (cycles < 1) throw bad("cycles", "must be at least 1");
  if (zero_ratio < 0 || ramp_ratio < 0 || zero_ratio + ramp_ratio > 1) {
    throw bad("zero_ratio/ramp_ratio", "need 0 <= zero_ratio, ramp_ratio and zero_ratio + ramp_ratio <= 1");
  }
  if (beta_max < 0) throw bad("beta_max", "must not be negative");
  if (free_bits < 0) throw bad("free_bits", "must not be negative");
  if (mu_scale < 0) throw bad("mu_scale", "must not be negative (0 turns batch-normalized means off)");
  if (offset_init < 0) throw bad("offset_init", "must not be negative (0 starts the embedding offset at zero)");
}

namespace {

class VAEObjective : public Objective {
 public:
  VAEObjective(TrainContext& ctx, const TrainOptions& o, const VAESettings& s)
      : ctx_(ctx),
        o_(o),
        s_(s),
        model_(config(ctx, o, s)),
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
      throw InputError(ckpt +
                       ": --vae.init_decoder needs a Transformer of the decoder's shape (model.dim, n_layers, "
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
  nlohmann::json checkpoint_config() const override { return {{"vae", to_json(s_)}}; }
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
    const auto nll = row_nll(model_->decode(t.inputs, z), t.targets);     // [B]
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
      nll_sample +=
          row_nll(model_->decode(t.inputs, q.mu + (0.5 * q.logvar).exp() * eps), t.targets).sum().item<double>();
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

}  // namespace

TrainResult train_vae(const TrainOptions& options, const VAESettings& vae) {
  vae.validate();
  TrainContext ctx = begin_training(options);
  VAEObjective objective(ctx, options, vae);
  return run_training(ctx, objective, options);
}

LoadedVAE load_vae(const std::string& path) { return load_vae(open_run(path, "vae")); }

LoadedVAE load_vae(const OpenedRun& o) {
  expect_kind(o.state, "vae", o.checkpoint);
  LoadedVAE v;
  v.checkpoint = o.checkpoint;
  v.tokenizer = o.tokenizer_path;
  v.tokenizer_sha256 = o.state.tokenizer_sha256;
  from_json(config_entry(o, "vae"), &v.settings, o.checkpoint + " (vae settings)");
  VAEConfig c;
  c.decoder = o.state.model;
  c.latent = v.settings.latent;
  c.encoder_layers = v.settings.encoder_layers;
  c.mu_scale = static_cast<float>(v.settings.mu_scale);
  c.offset_init = static_cast<float>(v.settings.offset_init);
  v.model = VAE(c);
  load_checkpoint(v.checkpoint, {v.model.get()});
  v.model->eval();
  return v;
}

}  // namespace plotforge
