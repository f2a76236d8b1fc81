// The Transformer plot model: a Llama-style decoder-only Transformer.
//
//   tokens -> embed_tokens -> N x [ x + attn(rmsnorm(x)); x + mlp(rmsnorm(x)) ]
//          -> norm -> lm_head -> logits
//
// Attention is causal self-attention with rotary position embeddings (the
// rotate-half form Hugging Face's Llama uses) and optional grouped-query
// attention; the MLP is SwiGLU; no biases anywhere. Parameter names and
// shapes are Hugging Face Llama's, without its "model." prefix
// (embed_tokens.weight, layers.0.self_attn.q_proj.weight, ...,
// norm.weight, lm_head.weight), so export is a write, not a translation.
//
// Control tokens condition generation: they are ordinary tokens of the
// vocabulary (<genre=...>, <beat=...>, ...), so the model needs nothing extra.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "models/config.h"

namespace plotforge {

// What a latent-variable model adds to the Transformer (models/vae.h). The
// plain Transformer passes none of it.
struct Conditioning {
  // Optimus's memory slot: per layer [B, n_kv_heads, 1, head_dim], a key and
  // value every query attends to, ahead of the causal keys. Unrotated: the
  // slot has no position.
  std::vector<torch::Tensor> memory_k, memory_v;
  torch::Tensor embedding;  // [B, 1, dim], added to every token embedding
  // Encoder mode: bidirectional attention; [B, T] bool, true marks padding.
  torch::Tensor key_padding;
};

// Rotary tables (rotate-half form) for positions 0 .. c.context - 1:
// {cos, sin}, each [context, head_dim] fp32.
std::pair<torch::Tensor, torch::Tensor> rotary_tables(const TransformerConfig& c);

// GPT-2's initialization for every parameter of `m` that is not a norm:
// N(0, 0.02), with residual projections (o_proj, down_proj) scaled down by
// sqrt(2 * n_layers) so the residual stream's variance does not grow with depth.
void init_gpt2(torch::nn::Module& m, int n_layers);

// A growing cache of keys and values for incremental decoding.
struct KVCache {
  std::vector<torch::Tensor> k, v;  // per layer [B, n_kv_heads, capacity, head_dim]
  int length = 0;                   // positions filled
};

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int dim, float eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  float eps_;
};
TORCH_MODULE(RMSNorm);

// A LoRA path beside one projection (LoraConfig in models/config.h;
// models/lora.h adds them): scale * B A dropout(x). A and B are
// registered on the projection's module as lora_A and lora_B, so their
// names are "layers.N.self_attn.q_proj.lora_A" and the like.
struct LoraPath {
  torch::Tensor A, B;  // [rank, in], [out, rank]; undefined: no adapter
  double scale = 0, dropout = 0;
  bool active() const { return A.defined(); }
  torch::Tensor operator()(const torch::Tensor& x, bool training) const;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const TransformerConfig& c);
  // x [B, T, dim]; cos/sin [T, head_dim] for positions start..start+T.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, KVCache* cache,
                        int layer, const Conditioning* cond = nullptr);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  LoraPath q_lora, k_lora, v_lora, o_lora;

 private:
  int n_heads_, n_kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

class MLPImpl : public torch::nn::Module {
 public:
  explicit MLPImpl(const TransformerConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x))
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  LoraPath gate_lora, up_lora, down_lora;
};
TORCH_MODULE(MLP);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const TransformerConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, KVCache* cache,
                        int layer, const Conditioning* cond = nullptr);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(Block);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerConfig& c);

  // tokens [B, T] int64 -> logits [B, T, vocab]. With a cache, the tokens
  // continue it at position cache->length, and the cache grows by T.
  torch::Tensor forward(const torch::Tensor& tokens, KVCache* cache = nullptr, const Conditioning* cond = nullptr);

  KVCache make_cache(int batch, int capacity) const;
  const TransformerConfig& config() const { return config_; }
  std::int64_t parameter_count() const;  // tied weights counted once

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  torch::nn::Linear lm_head{nullptr};

 private:
  TransformerConfig config_;
  torch::Tensor cos_, sin_;  // [context, head_dim], not parameters
};
TORCH_MODULE(Transformer);

}  // namespace plotforge
