// A bundle loaded for the runtime: config.json checked against the tensors
// in model.safetensors; matrices kept in their stored precision (used
// straight from the mapping) or converted once at load to the one asked
// for (--weights); norms as float32.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "datasets/tokenizer.h"
#include "inference/weights.h"

namespace plotforge::runtime {

struct ModelConfig {
  int latent = 0;  // a VAE decoder's latent size; 0 for a plain Transformer
  int dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, hidden = 0, vocab = 0, context = 0;
  float rope_theta = 10000.f, norm_eps = 1e-5f;
  bool tie_embeddings = false;
  int eos_id = -1;
  int head_dim() const { return dim / n_heads; }
};

// The Llama fields of a bundle's config.json (models/config.h's list under
// Hugging Face names), checked for consistency; `decoder` also reads
// eos_token_id. Throws InputError naming the file.
ModelConfig model_config(const nlohmann::json& j, const std::string& cfg_path, bool decoder);

// A VAE decoder's conditioning on one latent code z (models/vae.h): a key
// and value per layer that every position attends to ahead of the causal
// keys, and a vector added to every token embedding.
struct LatentCondition {
  std::vector<float> memory;     // [layer][K or V][n_kv_heads * head_dim]
  std::vector<float> embedding;  // [dim]
};

class Model {
 public:
  // Loads BUNDLE/{config.json, model.safetensors, tokenizer.model}, its
  // matrices in `weights` (none: as stored). Throws InputError naming the
  // file and field or tensor at fault.
  // With `merge` (a LoRA adapter's directory, inference/adapter.h), the
  // adapter is folded into the weights as they load: W + scale * B A.
  static std::unique_ptr<Model> load(const std::string& bundle_dir, std::optional<WeightType> weights = std::nullopt,
                                     const std::string& merge = "");

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // The sha256 of the tokenizer the model was trained with, as config.json
  // records it (plotforge.tokenizer_sha256; empty if absent).
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }
  // The checkpoint the bundle was exported from (plotforge.source_sha256;
  // empty if absent): what an adapter names as its base.
  const std::string& source_sha256() const { return source_sha256_; }
  const std::string& dir() const { return dir_; }
  const WeightMatrix& embed() const { return embed_; }      // [vocab, dim]
  const WeightMatrix& lm_head() const { return lm_head_; }  // [vocab, dim] (the embedding when tied)
  bool tied() const { return lm_head_.data == embed_.data; }
  // What a decode step reads of the weights: every matrix, the norms and
  // lm_head, as values and as bytes in the precision they are kept in.
  struct Reads {
    double values = 0, bytes = 0;
  };
  Reads decode_reads() const;
  const float* final_norm() const { return final_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // For a VAE bundle: the conditioning z [latent] implies. Throws InputError
  // for a plain Transformer bundle or a z of the wrong size.
  std::shared_ptr<const LatentCondition> condition(const std::vector<float>& z) const;

 private:
  Model() = default;
  ModelConfig config_;
  std::unique_ptr<WeightFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  WeightMatrix embed_, lm_head_;
  const float* final_norm_ = nullptr;
  const float *latent_to_memory_ = nullptr, *latent_to_embedding_ = nullptr;
  std::vector<LayerWeights> layers_;
  std::string dir_, tokenizer_sha256_, source_sha256_;
};

}  // namespace plotforge::runtime
