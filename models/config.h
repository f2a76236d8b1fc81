// The models' shapes, without libtorch: the Transformer's and the latent
// GAN's configurations, shared by the trainer (models/*.h), the exporter and
// the torch-free runtime. Each lists its fields once (base/settings.h): the
// [model] / [gan] keys of an INI file, the JSON in checkpoints and bundles,
// and, for the Transformer, the names of a Hugging Face Llama config.json.
#pragma once

#include <string>
#include <vector>

#include "base/settings.h"

namespace plotforge {

struct TransformerConfig {
  int vocab_size = 0;  // from the tokenizer, never an option
  int dim = 128;
  int n_layers = 4;
  int n_heads = 4;
  int n_kv_heads = 0;  // 0 means n_heads (no GQA)
  int ffn_hidden = 0;  // 0 means Llama's rule: 2/3 * 4 * dim, rounded up to a multiple of 32
  int context = 256;   // the longest sequence trained on and generated
  float rope_theta = 10000.f;
  float norm_eps = 1e-5f;
  bool tie_embeddings = false;

  template <class V>
  void fields(V&& v) {
    v("dim", dim, "model width", hf("hidden_size"));
    v("n_layers", n_layers, "Transformer blocks", hf("num_hidden_layers"));
    v("n_heads", n_heads, "attention heads", hf("num_attention_heads"));
    v("n_kv_heads", n_kv_heads, "key/value heads (0: n_heads)", hf("num_key_value_heads"));
    v("ffn_hidden", ffn_hidden, "SwiGLU hidden size (0: 8/3 dim)", hf("intermediate_size"));
    v("context", context, "context length in tokens", hf("max_position_embeddings"));
    v("rope_theta", rope_theta, "rotary base", hf("rope_theta"));
    v("norm_eps", norm_eps, "RMSNorm epsilon", hf("rms_norm_eps"));
    v("tie_embeddings", tie_embeddings, "share embed_tokens and lm_head", hf("tie_word_embeddings"));
  }

  int kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  int head_dim() const { return dim / n_heads; }
  int hidden() const;
  // Throws InputError naming the field when a value is unusable.
  void validate() const;
  // Matmul FLOPs per token for a forward+backward pass (6N plus attention),
  // for MFU.
  double train_flops_per_token() const;
};

// The configuration as JSON, vocab_size included (a checkpoint's "model").
nlohmann::json model_json(const TransformerConfig& c);
TransformerConfig model_from_json(const nlohmann::json& j, const std::string& where);

// The Hugging Face Llama names of the same fields (a bundle's config.json),
// with n_kv_heads and ffn_hidden resolved to their values. Reading checks
// that every field is present and of its type, naming the file and field.
nlohmann::json hf_llama_json(const TransformerConfig& c);
TransformerConfig from_hf_llama_json(const nlohmann::json& j, const std::string& where);

// LoRA (Hu et al. 2021, as Hugging Face PEFT does it): beside each target
// projection W of every block, a trainable low-rank path
//   y = W x + (alpha / rank) * B A dropout(x),  A [rank, in], B [out, rank],
// A initialised like a Linear layer, B zero (so training starts at the
// base model), everything else frozen. models/lora.h adds the paths.
// Rank 0 means no adapters.
struct LoraConfig {
  int rank = 0;
  double alpha = 16;  // PEFT's lora_alpha; the scale is alpha / rank
  double dropout = 0;
  std::string targets = "q_proj,v_proj";  // PEFT's default for Llama

  template <class V>
  void fields(V&& v) {
    v("rank", rank, "LoRA rank (0: train every weight)");
    v("alpha", alpha, "LoRA alpha: the adapter's output is scaled by alpha / rank");
    v("dropout", dropout, "dropout on the adapter's input while training");
    v("targets", targets, "projections adapted: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj");
  }
  double scale() const { return alpha / rank; }
  // The targets, checked against the seven projection names.
  std::vector<std::string> target_list() const;
  void validate() const;  // throws InputError naming the field (lora.KEY)
  // Trainable parameters the adapters add to a model of shape `c`:
  // sum over layers and targets of rank * (in + out).
  long long parameter_count(const TransformerConfig& c) const;
};

struct GANConfig {
  int latent = 32;  // the VAE's
  int noise = 32;
  int hidden = 256;
  int layers = 3;    // linear layers per network
  int n_genres = 0;  // 0: unconditioned
  int genre_dim = 16;

  template <class V>
  void fields(V&& v) {
    v("latent", latent, "latent dimensions (the VAE's)");
    v("noise", noise, "generator noise dimensions");
    v("hidden", hidden, "MLP width");
    v("layers", layers, "linear layers per MLP");
    v("n_genres", n_genres, "genres conditioned on (0: unconditioned)");
    v("genre_dim", genre_dim, "genre embedding width");
  }
  void validate() const;  // throws InputError naming the field
};

}  // namespace plotforge
