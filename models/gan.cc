#include "models/gan.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "base/error.h"

namespace plotforge {

namespace {

// in -> hidden (LeakyReLU) x (layers - 1) -> out. No normalization: batch
// norm would break the critic's per-sample gradient penalty.
torch::nn::Sequential mlp(int in, int hidden, int out, int layers) {
  torch::nn::Sequential s;
  int width = in;
  for (int i = 0; i + 1 < layers; ++i) {
    s->push_back(torch::nn::Linear(width, hidden));
    s->push_back(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)));
    width = hidden;
  }
  s->push_back(torch::nn::Linear(width, out));
  return s;
}

torch::Tensor with_genre(const torch::Tensor& x, torch::nn::Embedding& e, const torch::Tensor& genre) {
  if (!e) return x;
  // Row 0 of the embedding stands for "no genre" (label -1).
  return torch::cat({x, e(genre.clamp_min(-1) + 1)}, -1);
}

}  // namespace

LatentGeneratorImpl::LatentGeneratorImpl(const GANConfig& c) : config_(c) {
  c.validate();
  const int cond = c.n_genres > 0 ? c.genre_dim : 0;
  if (cond) genre_embedding = register_module("genre_embedding", torch::nn::Embedding(c.n_genres + 1, c.genre_dim));
  net = register_module("net", mlp(c.noise + cond, c.hidden, c.latent, c.layers));
}

torch::Tensor LatentGeneratorImpl::forward(const torch::Tensor& noise, const torch::Tensor& genre) {
  return net->forward(with_genre(noise, genre_embedding, genre));
}

LatentCriticImpl::LatentCriticImpl(const GANConfig& c) : config_(c) {
  c.validate();
  const int cond = c.n_genres > 0 ? c.genre_dim : 0;
  if (cond) genre_embedding = register_module("genre_embedding", torch::nn::Embedding(c.n_genres + 1, c.genre_dim));
  net = register_module("net", mlp(c.latent + cond, c.hidden, 1, c.layers));
}

torch::Tensor LatentCriticImpl::forward(const torch::Tensor& z, const torch::Tensor& genre) {
  return net->forward(with_genre(z, genre_embedding, genre)).squeeze(-1);
}

}  // namespace plotforge
