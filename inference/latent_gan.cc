#include "inference/latent_gan.h"

#include <cblas.h>

#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"
#include "base/settings.h"
#include "models/config.h"

namespace plotforge::runtime {

namespace {

std::vector<float> floats(const SafetensorsFile& f, const std::string& file, const std::string& name,
                          const std::vector<std::int64_t>& shape) {
  const TensorView& t = f.at(name);
  if (t.shape != shape) throw InputError(file + ": tensor '" + name + "' does not have the shape gan.json implies");
  return to_float32(t, file, name);
}

}  // namespace

std::unique_ptr<LatentGAN> LatentGAN::load(const std::string& dir) {
  const std::string cfg_path = dir + "/gan.json";
  const nlohmann::json j = read_json_object(cfg_path);
  std::unique_ptr<LatentGAN> g(new LatentGAN());
  GANConfig c;  // the network's shape, as the exporter writes it (models/config.h)
  from_json(j, &c, cfg_path, /*require_all=*/true);
  const int hidden = c.hidden, layers = c.layers, n_genres = c.n_genres;
  g->latent_ = c.latent;
  g->noise_ = c.noise;
  g->genre_dim_ = c.genre_dim;
  try {
    if (j.at("model_kind").get<std::string>() != "gan") throw InputError(cfg_path + ": model_kind is not gan");
    g->genres_ = j.at("genres").get<std::vector<std::string>>();
    g->slope_ = j.at("negative_slope").get<float>();
    g->tokenizer_sha256_ = j.at("tokenizer_sha256").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(cfg_path + ": missing or mistyped field (" + std::string(e.what()) + ")");
  }
  if (g->latent_ < 1 || g->noise_ < 1 || hidden < 1 || layers < 2 || layers > 64 || n_genres < 0 || g->genre_dim_ < 1 ||
      (n_genres > 0 && static_cast<int>(g->genres_.size()) != n_genres)) {
    throw InputError(cfg_path + ": inconsistent sizes");
  }
  const std::string st_path = dir + "/generator.safetensors";
  const SafetensorsFile f = SafetensorsFile::open(st_path);
  const int cond = n_genres > 0 ? g->genre_dim_ : 0;
  if (cond)
    g->genre_embedding_ = floats(f, st_path, "genre_embedding.weight", {n_genres + 1, g->genre_dim_});
  else
    g->genres_.clear();
  int width = g->noise_ + cond;
  for (int i = 0; i < layers; ++i) {
    Linear l;
    l.in = width;
    l.out = i + 1 < layers ? hidden : g->latent_;
    const std::string p = "net." + std::to_string(2 * i) + ".";
    l.w = floats(f, st_path, p + "weight", {l.out, l.in});
    l.b = floats(f, st_path, p + "bias", {l.out});
    width = l.out;
    g->layers_.push_back(std::move(l));
  }
  return g;
}

std::vector<float> LatentGAN::forward(const std::vector<float>& noise, int genre) const {
  if (static_cast<int>(noise.size()) != noise_)
    throw InputError("GAN noise must have " + std::to_string(noise_) + " values");
  std::vector<float> x = noise;
  if (!genre_embedding_.empty()) {
    const float* e = genre_embedding_.data() + static_cast<std::size_t>(genre + 1) * genre_dim_;  // row 0: none
    x.insert(x.end(), e, e + genre_dim_);
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Linear& l = layers_[i];
    std::vector<float> y = l.b;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, l.out, l.in, 1.0f, l.w.data(), l.in, x.data(), 1, 1.0f, y.data(), 1);
    if (i + 1 < layers_.size()) {
      for (float& v : y) v = v > 0 ? v : slope_ * v;
    }
    x = std::move(y);
  }
  return x;
}

std::vector<float> LatentGAN::sample(std::uint64_t seed, const std::string& genre) const {
  int g = -1;
  if (!genre.empty()) {
    for (std::size_t i = 0; i < genres_.size(); ++i) {
      if (genres_[i] == genre) g = static_cast<int>(i);
    }
    if (g < 0) {
      std::string known;
      for (const auto& x : genres_) known += (known.empty() ? "" : ", ") + x;
      throw InputError("--genre " + genre + ": the GAN is not conditioned on it (it knows: " +
                       (known.empty() ? std::string("no genres") : known) + ")");
    }
  }
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> noise(noise_);
  for (float& v : noise) v = normal(rng);
  return forward(noise, g);
}

}  // namespace plotforge::runtime
