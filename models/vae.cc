#include "models/vae.h"

#include <algorithm>

#include <torch/nn/init.h>

#include "base/error.h"

namespace plotforge {

namespace {

torch::nn::Linear linear(int in, int out, bool bias = true) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

}  // namespace

void VAEConfig::validate() const {
  decoder.validate();
  if (latent < 1) throw InputError("vae.latent: must be positive");
  if (encoder_layers < 0) throw InputError("vae.encoder_layers: must not be negative (0: as many as the decoder)");
}

SceneEncoderImpl::SceneEncoderImpl(const TransformerConfig& c, int n_layers) : config_(c) {
  c.validate();
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.dim));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < n_layers; ++i) layers->push_back(Block(c));
  norm = register_module("norm", RMSNorm(c.dim, c.norm_eps));
  init_gpt2(*this, n_layers);
  const auto [cos, sin] = rotary_tables(c);
  cos_ = register_buffer("rope_cos", cos);
  sin_ = register_buffer("rope_sin", sin);
}

torch::Tensor SceneEncoderImpl::forward(const torch::Tensor& tokens) {
  const int64_t B = tokens.size(0), T = tokens.size(1);
  TORCH_CHECK(T <= config_.context, "scene of ", T, " tokens exceeds the encoder's context of ", config_.context);
  const auto padding = tokens.lt(0);
  const auto ids = tokens.clamp_min(0);
  const auto dtype = embed_tokens->weight.scalar_type();
  const auto cos = cos_.narrow(0, 0, T).to(dtype), sin = sin_.narrow(0, 0, T).to(dtype);
  Conditioning cond;
  cond.key_padding = padding;
  auto x = embed_tokens->weight.index_select(0, ids.reshape(-1)).view({B, T, config_.dim});
  for (std::size_t i = 0; i < layers->size(); ++i) {
    x = layers[i]->as<BlockImpl>()->forward(x, cos, sin, nullptr, static_cast<int>(i), &cond);
  }
  x = norm(x);
  const auto real = padding.logical_not().unsqueeze(-1).to(x.scalar_type());  // [B, T, 1]
  return (x * real).sum(1) / real.sum(1).clamp_min(1);
}

VAEImpl::VAEImpl(const VAEConfig& c) : config_(c) {
  c.validate();
  const TransformerConfig& d = c.decoder;
  encoder = register_module("encoder", SceneEncoder(d, c.enc_layers()));
  to_latent = register_module("to_latent", linear(d.dim, 2 * c.latent));
  decoder = register_module("decoder", Transformer(d));
  const int kv_dim = d.kv_heads() * d.head_dim();
  latent_to_memory = register_module("latent_to_memory", linear(c.latent, d.n_layers * 2 * kv_dim, false));
  latent_to_embedding = register_module("latent_to_embedding", linear(c.latent, d.dim, false));
  if (c.mu_scale > 0) {
    mu_norm = register_module("mu_norm", torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(c.latent).affine(false)));
    mu_shift = register_parameter("mu_shift", torch::zeros({c.latent}));
  }
  torch::NoGradGuard no_grad;
  // Start near the prior (logvar ~ 0) with a small memory slot. The
  // embedding offset starts at zero by default, so a decoder started from a
  // trained Transformer (--vae.init_decoder) begins as that language model
  // (gradients still reach the zero matrix: the outer product of z and the
  // embeddings' gradient). A small random start (offset_init) disturbs it at
  // first but was what made the code useful on the Shakespeare scenes
  // (docs/evaluation.md): from zero the decoder turned 19 nats of code into
  // no reconstruction gain (61.43 against the Transformer's 61.36), from
  // N(0, 0.02) 54 nats into 60.47.
  torch::nn::init::normal_(to_latent->weight, 0.0, 0.02);
  to_latent->bias.zero_();
  torch::nn::init::normal_(latent_to_memory->weight, 0.0, 0.02);
  if (c.offset_init > 0) {
    torch::nn::init::normal_(latent_to_embedding->weight, 0.0, c.offset_init);
  } else {
    latent_to_embedding->weight.zero_();
  }
}

torch::Tensor VAEImpl::raw_mean(const torch::Tensor& tokens) { return to_latent(encoder(tokens)).chunk(2, -1)[0]; }

Posterior VAEImpl::encode(const torch::Tensor& tokens) {
  const auto stats = to_latent(encoder(tokens)).chunk(2, -1);
  torch::Tensor mu = stats[0];
  // Batch statistics need more than one scene; a single scene in training
  // mode (never the case in the trainer) uses the running ones.
  if (mu_norm) {
    const bool batch_stats = is_training() && mu.size(0) > 1;
    mu = config_.mu_scale * torch::batch_norm(mu.to(torch::kFloat32), {}, {}, mu_norm->running_mean,
                                              mu_norm->running_var, batch_stats, 0.1, 1e-5, false)
                                .to(mu.scalar_type()) +
         mu_shift;
  }
  return {mu, stats[1].clamp(-20, 10)};
}

torch::Tensor VAEImpl::sample(const Posterior& q) {
  return q.mu + torch::exp(0.5 * q.logvar) * torch::randn_like(q.mu);
}

Conditioning VAEImpl::condition(const torch::Tensor& z) {
  const TransformerConfig& d = config_.decoder;
  const int64_t B = z.size(0);
  const auto dtype = decoder->embed_tokens->weight.scalar_type();
  const auto zz = z.to(dtype);
  Conditioning cond;
  // [B, layers, 2, kv_heads, 1, head_dim]
  const auto mem = latent_to_memory(zz).view({B, d.n_layers, 2, d.kv_heads(), 1, d.head_dim()});
  for (int l = 0; l < d.n_layers; ++l) {
    cond.memory_k.push_back(mem.select(1, l).select(1, 0));
    cond.memory_v.push_back(mem.select(1, l).select(1, 1));
  }
  cond.embedding = latent_to_embedding(zz).unsqueeze(1);
  return cond;
}

torch::Tensor VAEImpl::decode(const torch::Tensor& inputs, const torch::Tensor& z) {
  const Conditioning cond = condition(z);
  return decoder->forward(inputs, nullptr, &cond);
}

torch::Tensor kl_per_dimension(const Posterior& q) { return 0.5 * (q.mu.pow(2) + q.logvar.exp() - 1 - q.logvar); }

SceneClassifierImpl::SceneClassifierImpl(const ClassifierConfig& c) : config_(c) {
  encoder = register_module("encoder", SceneEncoder(c.encoder, c.encoder.n_layers));
  // A head with no classes still gets one output, so the module's shape never
  // depends on whether a corpus happens to carry a label.
  genre_head = register_module("genre_head", linear(c.encoder.dim, std::max(1, c.n_genres)));
  beat_head = register_module("beat_head", linear(c.encoder.dim, std::max(1, c.n_beats)));
  emotion_head = register_module("emotion_head", linear(c.encoder.dim, std::max(1, c.n_emotions)));
  valence_head = register_module("valence_head", linear(c.encoder.dim, std::max(1, c.n_valences)));
}

ClassifierLogits SceneClassifierImpl::forward(const torch::Tensor& tokens) {
  const auto h = encoder(tokens);
  return {genre_head(h), beat_head(h), emotion_head(h), valence_head(h)};
}

}  // namespace plotforge
