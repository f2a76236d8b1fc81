// A latent GAN bundle (plotforge export of a GAN run) in the runtime: the
// generator MLP that maps noise (and a genre) to a VAE latent code, run with
// OpenBLAS. Its codes are decoded by the VAE bundle it was trained against.
//
//   BUNDLE/gan.json               latent, noise, hidden, layers, n_genres,
//                                 genre_dim, genres, negative_slope
//   BUNDLE/generator.safetensors  net.{0,2,4..}.weight/.bias, genre_embedding.weight
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/safetensors.h"

namespace plotforge::runtime {

class LatentGAN {
 public:
  // Throws InputError naming the file and field or tensor at fault.
  static std::unique_ptr<LatentGAN> load(const std::string& bundle_dir);
  // One latent code from standard-normal noise drawn from `seed`; genre ""
  // for none (an unconditioned GAN takes only that). Throws InputError for a
  // genre the GAN was not trained on.
  std::vector<float> sample(std::uint64_t seed, const std::string& genre) const;
  // The code for given noise and genre index (-1: none).
  std::vector<float> forward(const std::vector<float>& noise, int genre) const;

  int latent() const { return latent_; }
  int noise() const { return noise_; }
  const std::vector<std::string>& genres() const { return genres_; }
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }

 private:
  struct Linear {
    std::vector<float> w, b;  // [out, in], [out]
    int in = 0, out = 0;
  };
  int latent_ = 0, noise_ = 0, genre_dim_ = 0;
  float slope_ = 0.2f;
  std::vector<std::string> genres_;
  std::vector<float> genre_embedding_;  // [n_genres + 1, genre_dim]; row 0: none
  std::vector<Linear> layers_;
  std::string tokenizer_sha256_;
};

}  // namespace plotforge::runtime
