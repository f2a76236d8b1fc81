#include "training/gan_objective.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>

#include "base/error.h"
#include "training/batch_tensors.h"
#include "training/run.h"
#include "training/vae_objective.h"

namespace plotforge {

namespace fs = std::filesystem;

void GANSettings::validate() const {
  if (vae.empty()) throw InputError("gan.vae: give the VAE run directory the GAN learns the latent space of");
  if (n_critic < 1) throw InputError("gan.n_critic: must be at least 1");
  if (gp < 0) throw InputError("gan.gp: must not be negative");
}

namespace {

class GANObjective : public Objective {
 public:
  GANObjective(TrainContext& ctx, const TrainOptions& o, const GANSettings& s)
      : ctx_(ctx),
        o_(o),
        s_(s),
        vae_(load_vae(s.vae)),
        train_(ctx.corpus, vae_.model->config().decoder.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, vae_.model->config().decoder.context, ctx.loader(Split::kValidation)),
        config_(make_config()),
        generator_(config_),
        critic_(config_) {
    if (vae_.tokenizer_sha256 != ctx.corpus->tokenizer_sha256) {
      throw InputError(vae_.checkpoint + ": the VAE was trained with another tokenizer than " + o.data + " uses");
    }
    vae_.model->to(ctx.device);
    recalibrate_latent_norm(vae_.model, ctx.corpus);
    vae_.model->eval();
    for (auto& p : vae_.model->parameters()) p.set_requires_grad(false);
    generator_->to(ctx.device);
    critic_->to(ctx.device);
    critic_optimizer_ = std::make_unique<torch::optim::Adam>(critic_->parameters(),
                                                             torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}));
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
  nlohmann::json checkpoint_config() const override {
    GANSettings saved = s_;
    saved.vae = fs::absolute(vae_.checkpoint).string();  // the checkpoint it learned, wherever it was named from
    return {{"gan", to_json(saved)}, {"gan_model", to_json(config_)}, {"genres", train_.genres()}};
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
    return {{"val_loss", mean_gap + std_gap},
            {"wasserstein", wd / o_.eval_batches},
            {"mean_gap", mean_gap},
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
      codes_[b.scene[r]] =
          vae_.model->encode(padded_rows({rows[r]}, {}, 1 << 30, ctx_.device)).mu[0].to(torch::kFloat32);
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

}  // namespace

TrainResult train_gan(const TrainOptions& options, const GANSettings& gan) {
  gan.validate();
  TrainContext ctx = begin_training(options);
  GANObjective objective(ctx, options, gan);
  return run_training(ctx, objective, options);
}

LoadedGAN load_gan(const std::string& path) { return load_gan(open_run(path, "gan")); }

LoadedGAN load_gan(const OpenedRun& o) {
  expect_kind(o.state, "gan", o.checkpoint);
  LoadedGAN g;
  g.checkpoint = o.checkpoint;
  const std::string where = o.checkpoint + " (gan settings)";
  from_json(config_entry(o, "gan_model"), &g.config, where);
  g.genres = genre_list(o);
  GANSettings settings;
  from_json(config_entry(o, "gan"), &settings, where);
  g.vae = settings.vae;
  g.generator = LatentGenerator(g.config);
  load_checkpoint(g.checkpoint, {g.generator.get()});
  g.generator->eval();
  return g;
}

}  // namespace plotforge
