#include "models/transformer.h"

#include <cmath>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/linear.h>
#include <torch/nn/init.h>

#include "base/error.h"
#include "models/attention.h"
#include "models/fused_cpu.h"
#include "models/projection.h"

namespace plotforge {

RMSNormImpl::RMSNormImpl(int dim, float eps) : eps_(eps) { weight = register_parameter("weight", torch::ones({dim})); }

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (fused::applies(x)) return fused::rms_norm(x, weight, eps_);
  const auto xf = x.to(torch::kFloat32);
  const auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps_);
  return normed.to(x.scalar_type()) * weight;
}

namespace {

// Splits below use chunk/split rather than narrow: their backward is one
// cat, where narrow's allocates a zero tensor per slice.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

torch::nn::Linear linear(int in, int out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); }

}  // namespace

torch::Tensor LoraPath::operator()(const torch::Tensor& x, bool training) const {
  const auto in = dropout > 0 ? torch::dropout(x, dropout, training) : x;
  return torch::matmul(torch::matmul(in, A.t()), B.t()) * scale;
}

AttentionImpl::AttentionImpl(const TransformerConfig& c)
    : n_heads_(c.n_heads), n_kv_heads_(c.kv_heads()), head_dim_(c.head_dim()) {
  q_proj = register_module("q_proj", linear(c.dim, n_heads_ * head_dim_));
  k_proj = register_module("k_proj", linear(c.dim, n_kv_heads_ * head_dim_));
  v_proj = register_module("v_proj", linear(c.dim, n_kv_heads_ * head_dim_));
  o_proj = register_module("o_proj", linear(n_heads_ * head_dim_, c.dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     KVCache* cache, int layer, const Conditioning* cond) {
  const int64_t B = x.size(0), T = x.size(1);
  // One GEMM for q, k and v: small models are bound by per-op overhead.
  const auto qkv = project(x, torch::cat({q_proj->weight, k_proj->weight, v_proj->weight}));
  const int64_t nq = n_heads_ * head_dim_, nkv = n_kv_heads_ * head_dim_;
  const bool plain_qkv = !q_lora.active() && !k_lora.active() && !v_lora.active();
  if (cache == nullptr && cond == nullptr && plain_qkv && fused::causal_self_attention_applies(qkv)) {
    const auto merged = fused::causal_self_attention(qkv, cos, sin, n_heads_, n_kv_heads_);
    const auto out = project(merged, o_proj->weight);
    return o_lora.active() ? out + o_lora(merged, is_training()) : out;
  }
  const auto parts = qkv.split_with_sizes({nq, nkv, nkv}, -1);
  auto q = parts[0], k = parts[1], v = parts[2];
  if (q_lora.active()) q = q + q_lora(x, is_training());
  if (k_lora.active()) k = k + k_lora(x, is_training());
  if (v_lora.active()) v = v + v_lora(x, is_training());
  q = q.reshape({B, T, n_heads_, head_dim_}).transpose(1, 2);
  k = k.reshape({B, T, n_kv_heads_, head_dim_}).transpose(1, 2);
  v = v.reshape({B, T, n_kv_heads_, head_dim_}).transpose(1, 2);
  if (fused::applies(q)) {
    q = fused::apply_rotary(q, cos, sin);
    k = fused::apply_rotary(k, cos, sin);
  } else {
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
  }
  int64_t start = 0;
  if (cache != nullptr) {
    start = cache->length;
    cache->k[layer].narrow(2, start, T).copy_(k);
    cache->v[layer].narrow(2, start, T).copy_(v);
    k = cache->k[layer].narrow(2, 0, start + T);
    v = cache->v[layer].narrow(2, 0, start + T);
  }
  torch::Tensor y;
  if (cond && cond->key_padding.defined()) {
    y = bidirectional_attention(q, k, v, cond->key_padding);
  } else if (cond && !cond->memory_k.empty()) {
    // The memory slot sits before position 0, so every query sees it: one
    // more key ahead of the causal ones.
    y = causal_attention(q, torch::cat({cond->memory_k[layer], k}, 2), torch::cat({cond->memory_v[layer], v}, 2),
                         start + 1);
  } else {
    y = causal_attention(q, k, v, start);
  }
  const auto merged = y.transpose(1, 2).contiguous().view({B, T, n_heads_ * head_dim_});
  const auto out = project(merged, o_proj->weight);
  return o_lora.active() ? out + o_lora(merged, is_training()) : out;
}

MLPImpl::MLPImpl(const TransformerConfig& c) {
  gate_proj = register_module("gate_proj", linear(c.dim, c.hidden()));
  up_proj = register_module("up_proj", linear(c.dim, c.hidden()));
  down_proj = register_module("down_proj", linear(c.hidden(), c.dim));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  // gate and up in one GEMM.
  const auto gu = project(x, torch::cat({gate_proj->weight, up_proj->weight}));
  if (!gate_lora.active() && !up_lora.active() && fused::applies(gu)) {
    const auto h = fused::swiglu(gu);
    const auto out = project(h, down_proj->weight);
    return down_lora.active() ? out + down_lora(h, is_training()) : out;
  }
  const auto halves = gu.chunk(2, -1);
  auto gate = halves[0], up = halves[1];
  if (gate_lora.active()) gate = gate + gate_lora(x, is_training());
  if (up_lora.active()) up = up + up_lora(x, is_training());
  const auto h = torch::silu(gate) * up;
  const auto out = project(h, down_proj->weight);
  return down_lora.active() ? out + down_lora(h, is_training()) : out;
}

BlockImpl::BlockImpl(const TransformerConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", MLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.dim, c.norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.dim, c.norm_eps));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                 KVCache* cache, int layer, const Conditioning* cond) {
  const auto h = x + self_attn(input_layernorm(x), cos, sin, cache, layer, cond);
  return h + mlp(post_attention_layernorm(h));
}

std::pair<torch::Tensor, torch::Tensor> rotary_tables(const TransformerConfig& c) {
  // inv_freq over half the head, duplicated (rotate-half form).
  const int hd = c.head_dim();
  const auto inv_freq =
      1.0 / torch::pow(static_cast<double>(c.rope_theta), torch::arange(0, hd, 2, torch::kFloat64) / hd);
  const auto freqs = torch::outer(torch::arange(c.context, torch::kFloat64), inv_freq);
  const auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(torch::kFloat32), emb.sin().to(torch::kFloat32)};
}

void init_gpt2(torch::nn::Module& m, int n_layers) {
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * n_layers);
  for (auto& p : m.named_parameters()) {
    const std::string& name = p.key();
    if (name.find("layernorm") != std::string::npos || name.rfind("norm.", 0) == 0 ||
        name.find(".norm.") != std::string::npos) {
      continue;
    }
    const bool residual = name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
    torch::nn::init::normal_(p.value(), 0.0, residual ? residual_std : 0.02);
  }
}

TransformerImpl::TransformerImpl(const TransformerConfig& c) : config_(c) {
  c.validate();
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.dim));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.n_layers; ++i) layers->push_back(Block(c));
  norm = register_module("norm", RMSNorm(c.dim, c.norm_eps));
  if (!c.tie_embeddings) lm_head = register_module("lm_head", linear(c.dim, c.vocab_size));

  init_gpt2(*this, c.n_layers);
  const auto [cos, sin] = rotary_tables(c);
  cos_ = register_buffer("rope_cos", cos);
  sin_ = register_buffer("rope_sin", sin);
}

KVCache TransformerImpl::make_cache(int batch, int capacity) const {
  KVCache cache;
  const auto opts = embed_tokens->weight.options();
  for (int i = 0; i < config_.n_layers; ++i) {
    cache.k.push_back(torch::zeros({batch, config_.kv_heads(), capacity, config_.head_dim()}, opts));
    cache.v.push_back(torch::zeros({batch, config_.kv_heads(), capacity, config_.head_dim()}, opts));
  }
  return cache;
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& tokens, KVCache* cache, const Conditioning* cond) {
  const int64_t T = tokens.size(1);
  const int64_t start = cache ? cache->length : 0;
  TORCH_CHECK(start + T <= config_.context, "sequence of ", start + T, " tokens exceeds the model's context of ",
              config_.context);
  if (cache) TORCH_CHECK(start + T <= cache->k[0].size(2), "KV cache too small");
  // Module::to() moves registered buffers in place, so cos_/sin_ follow the model.
  const auto cos = cos_.narrow(0, start, T).to(embed_tokens->weight.scalar_type());
  const auto sin = sin_.narrow(0, start, T).to(embed_tokens->weight.scalar_type());
  // index_select rather than embedding: on CPU its backward is one index_add
  // instead of a loop over tokens.
  auto x = embed_tokens->weight.index_select(0, tokens.reshape(-1)).view({tokens.size(0), T, config_.dim});
  if (cond && cond->embedding.defined()) x = x + cond->embedding;
  for (int i = 0; i < config_.n_layers; ++i) x = layers[i]->as<BlockImpl>()->forward(x, cos, sin, cache, i, cond);
  x = norm(x);
  if (cache) cache->length += static_cast<int>(T);
  return project(x, config_.tie_embeddings ? embed_tokens->weight : lm_head->weight);
}

std::int64_t TransformerImpl::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace plotforge
