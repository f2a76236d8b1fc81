// The latent GAN (ARAE / LaTextGAN style): it learns the distribution of the
// VAE's posterior means, so its samples are latent codes the VAE decoder
// turns into scenes. Both networks are small MLPs; the critic is trained
// with WGAN-GP (training/generators.h).
//
//   generator: [noise, genre embedding] -> hidden -> ... -> latent
//   critic:    [latent, genre embedding] -> hidden -> ... -> score
//
// With n_genres = 0 neither is conditioned.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>

#include "models/config.h"

namespace plotforge {

class LatentGeneratorImpl : public torch::nn::Module {
 public:
  explicit LatentGeneratorImpl(const GANConfig& c);
  // noise [B, noise], genre [B] int64 (-1: none; ignored when unconditioned) -> [B, latent]
  torch::Tensor forward(const torch::Tensor& noise, const torch::Tensor& genre);
  torch::nn::Sequential net{nullptr};
  torch::nn::Embedding genre_embedding{nullptr};

 private:
  GANConfig config_;
};
TORCH_MODULE(LatentGenerator);

class LatentCriticImpl : public torch::nn::Module {
 public:
  explicit LatentCriticImpl(const GANConfig& c);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& genre);  // -> [B]
  torch::nn::Sequential net{nullptr};
  torch::nn::Embedding genre_embedding{nullptr};

 private:
  GANConfig config_;
};
TORCH_MODULE(LatentCritic);

}  // namespace plotforge
