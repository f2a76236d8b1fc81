// The VAE plot model (Optimus-style) and the scene encoder it shares with the
// classifier.
//
//   scene tokens -> SceneEncoder (the Transformer's blocks, bidirectional,
//                   mean-pooled over real tokens) -> to_latent -> mu, logvar
//                   (mu batch-normalized, BN-VAE; see VAEConfig::mu_scale)
//   z = mu + exp(logvar / 2) * eps
//   decoder: the Transformer, conditioned on z in Optimus's two ways:
//     latent_to_memory:    z -> one key/value slot per layer that every
//                          query attends to
//     latent_to_embedding: z -> a vector added to every token embedding
//
// Scenes are rows of token ids padded with -1 (datasets/loader.h's
// SceneBatch); the first token of every scene is <scene>.
#pragma once

#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>

#include "models/transformer.h"

namespace plotforge {

struct VAEConfig {
  TransformerConfig decoder;  // the encoder has the same width and heads
  int encoder_layers = 0;     // 0: decoder.n_layers
  int latent = 32;
  // BN-VAE (Zhu et al. 2020): the posterior means are batch-normalized to
  // scale mu_scale (plus a learned shift), which bounds the expected KL away
  // from zero and keeps scene-to-scene differences visible to the decoder
  // from the first step; 0 turns it off.
  float mu_scale = 0.6f;
  // Standard deviation of latent_to_embedding's initial weights; 0 starts
  // the embedding offset at zero (see VAEImpl's constructor for why both).
  float offset_init = 0.f;

  int enc_layers() const { return encoder_layers > 0 ? encoder_layers : decoder.n_layers; }
  void validate() const;  // throws InputError naming the field
};

// A bidirectional Transformer over padded token rows, pooled to one vector
// per row. Parameter names follow the decoder's (embed_tokens, layers.N.*,
// norm).
class SceneEncoderImpl : public torch::nn::Module {
 public:
  SceneEncoderImpl(const TransformerConfig& c, int n_layers);
  // tokens [B, T] int64, -1 for padding -> [B, dim], the mean of the final
  // hidden states over each row's real tokens.
  torch::Tensor forward(const torch::Tensor& tokens);

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

 private:
  TransformerConfig config_;
  torch::Tensor cos_, sin_;
};
TORCH_MODULE(SceneEncoder);

struct Posterior {
  torch::Tensor mu, logvar;  // [B, latent]
};

class VAEImpl : public torch::nn::Module {
 public:
  explicit VAEImpl(const VAEConfig& c);

  Posterior encode(const torch::Tensor& tokens);
  // The posterior means before batch normalization (what mu_norm's
  // statistics describe).
  torch::Tensor raw_mean(const torch::Tensor& tokens);
  // Reparameterized sample: mu + sigma * eps, eps from the default generator.
  static torch::Tensor sample(const Posterior& q);
  // Decoder logits [B, T, vocab] for inputs [B, T] (no -1s) given z [B, latent].
  torch::Tensor decode(const torch::Tensor& inputs, const torch::Tensor& z);
  Conditioning condition(const torch::Tensor& z);

  const VAEConfig& config() const { return config_; }

  SceneEncoder encoder{nullptr};
  torch::nn::Linear to_latent{nullptr};     // dim -> 2 * latent (mu, logvar)
  torch::nn::BatchNorm1d mu_norm{nullptr};  // without affine; see VAEConfig::mu_scale
  torch::Tensor mu_shift;                   // [latent]
  Transformer decoder{nullptr};
  torch::nn::Linear latent_to_memory{nullptr};     // latent -> n_layers * 2 * kv_dim
  torch::nn::Linear latent_to_embedding{nullptr};  // latent -> dim

 private:
  VAEConfig config_;
};
TORCH_MODULE(VAE);

// Per-dimension KL(q(z|x) || N(0, I)), [B, latent].
torch::Tensor kl_per_dimension(const Posterior& q);

// Scene classifier: the scene encoder with one linear head per label. Labels
// are indices into the loader's genre list and the beat/emotion/valence
// vocabularies; -1 means unlabeled and is ignored.
struct ClassifierConfig {
  TransformerConfig encoder;
  int n_genres = 0, n_beats = 0, n_emotions = 0, n_valences = 0;
};

struct ClassifierLogits {
  torch::Tensor genre, beat, emotion, valence;
};

class SceneClassifierImpl : public torch::nn::Module {
 public:
  explicit SceneClassifierImpl(const ClassifierConfig& c);
  ClassifierLogits forward(const torch::Tensor& tokens);
  const ClassifierConfig& config() const { return config_; }

  SceneEncoder encoder{nullptr};
  torch::nn::Linear genre_head{nullptr}, beat_head{nullptr}, emotion_head{nullptr}, valence_head{nullptr};

 private:
  ClassifierConfig config_;
};
TORCH_MODULE(SceneClassifier);

}  // namespace plotforge
