#include "inference/model.h"

#include <cblas.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"
#include "base/settings.h"
#include "models/config.h"
#include "training/settings.h"

namespace plotforge::runtime {

namespace {

int int_field(const nlohmann::json& j, const char* key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<long long>() < 0 ||
      j[key].get<long long>() > (1 << 30)) {
    throw InputError(file + ": field '" + key + "' is missing or not a sensible non-negative integer");
  }
  return j[key].get<int>();
}

}  // namespace

const float* Model::weight(const std::string& name, std::vector<std::int64_t> shape) {
  const TensorView& t = file_->at(name);
  if (t.shape != shape) {
    std::string want, got;
    for (auto s : shape) want += std::to_string(s) + " ";
    for (auto s : t.shape) got += std::to_string(s) + " ";
    throw InputError(dir_ + "/model.safetensors: tensor '" + name + "' has shape [ " + got +
                     "], config.json implies [ " + want + "]");
  }
  if (t.dtype == DType::kF32 && reinterpret_cast<std::uintptr_t>(t.data) % alignof(float) == 0) {
    return reinterpret_cast<const float*>(t.data);  // used straight from the mapping
  }
  widened_.push_back(to_float32(t, dir_ + "/model.safetensors", name));
  return widened_.back().data();
}

std::unique_ptr<Model> Model::load(const std::string& dir) {
  std::unique_ptr<Model> m(new Model());
  m->dir_ = dir;
  const std::string cfg_path = dir + "/config.json";
  const nlohmann::json j = read_json_object(cfg_path);
  // The model's fields under their Hugging Face names (models/config.h).
  const TransformerConfig t = from_hf_llama_json(j, cfg_path);
  ModelConfig& c = m->config_;
  for (const int v : {t.dim, t.n_layers, t.n_heads, t.n_kv_heads, t.ffn_hidden, t.vocab_size, t.context}) {
    if (v < 0 || v > (1 << 30)) throw InputError(cfg_path + ": a size field is negative or not sensible");
  }
  c.dim = t.dim;
  c.n_layers = t.n_layers;
  c.n_heads = t.n_heads;
  c.n_kv_heads = t.n_kv_heads;
  c.hidden = t.ffn_hidden;
  c.vocab = t.vocab_size;
  c.context = t.context;
  c.norm_eps = t.norm_eps;
  c.rope_theta = t.rope_theta;
  c.tie_embeddings = t.tie_embeddings;
  c.eos_id = int_field(j, "eos_token_id", cfg_path);
  if (c.dim < 1 || c.n_layers < 1 || c.n_heads < 1 || c.n_kv_heads < 1 || c.dim % c.n_heads != 0 ||
      c.n_heads % c.n_kv_heads != 0 || c.head_dim() % 2 != 0 || c.vocab < 1 || c.context < 1 || c.hidden < 1 ||
      c.eos_id >= c.vocab) {
    throw InputError(cfg_path +
                     ": inconsistent sizes (heads must divide hidden_size, kv heads must divide heads, "
                     "head_dim must be even)");
  }
  m->file_ = std::make_unique<SafetensorsFile>(SafetensorsFile::open(dir + "/model.safetensors"));
  m->tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(dir + "/tokenizer.model"));
  if (m->tokenizer_->vocab_size() != c.vocab) {
    throw InputError(dir + "/tokenizer.model: " + std::to_string(m->tokenizer_->vocab_size()) +
                     " pieces, config.json says vocab_size " + std::to_string(c.vocab));
  }
  const std::int64_t D = c.dim, V = c.vocab, hd = c.head_dim(), q_out = c.n_heads * hd, kv_out = c.n_kv_heads * hd,
                     H = c.hidden;
  m->embed_ = m->weight("model.embed_tokens.weight", {V, D});
  m->lm_head_ = c.tie_embeddings ? m->embed_ : m->weight("lm_head.weight", {V, D});
  m->final_norm_ = m->weight("model.norm.weight", {D});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights w;
    w.input_norm = m->weight(p + "input_layernorm.weight", {D});
    w.post_norm = m->weight(p + "post_attention_layernorm.weight", {D});
    const float* q = m->weight(p + "self_attn.q_proj.weight", {q_out, D});
    const float* k = m->weight(p + "self_attn.k_proj.weight", {kv_out, D});
    const float* v = m->weight(p + "self_attn.v_proj.weight", {kv_out, D});
    w.wqkv.assign(q, q + q_out * D);
    w.wqkv.insert(w.wqkv.end(), k, k + kv_out * D);
    w.wqkv.insert(w.wqkv.end(), v, v + kv_out * D);
    w.wo = m->weight(p + "self_attn.o_proj.weight", {D, q_out});
    const float* g = m->weight(p + "mlp.gate_proj.weight", {H, D});
    const float* u = m->weight(p + "mlp.up_proj.weight", {H, D});
    w.wgate_up.assign(g, g + H * D);
    w.wgate_up.insert(w.wgate_up.end(), u, u + H * D);
    w.wdown = m->weight(p + "mlp.down_proj.weight", {D, H});
    m->layers_.push_back(std::move(w));
  }
  const auto& pf = j.contains("plotforge") && j["plotforge"].is_object() ? j["plotforge"] : nlohmann::json::object();
  const std::string kind = pf.value("model_kind", std::string("transformer"));
  if (pf.contains("tokenizer_sha256") && pf["tokenizer_sha256"].is_string()) {
    m->tokenizer_sha256_ = pf["tokenizer_sha256"].get<std::string>();
  }
  if (kind == "vae") {
    // The VAE's settings, as the exporter writes them (training/settings.h).
    VAESettings vae;
    if (!pf.contains("latent")) throw InputError(cfg_path + ": plotforge.latent is missing from a VAE bundle");
    from_json(pf, &vae, cfg_path + " plotforge");
    c.latent = vae.latent;
    if (c.latent < 1) throw InputError(cfg_path + ": plotforge.latent must be positive");
    m->latent_to_memory_ = m->weight("plotforge.latent_to_memory.weight", {c.n_layers * 2 * kv_out, c.latent});
    m->latent_to_embedding_ = m->weight("plotforge.latent_to_embedding.weight", {D, c.latent});
  } else if (kind != "transformer") {
    throw InputError(cfg_path + ": plotforge.model_kind '" + kind +
                     "' is not a decoder the runtime runs "
                     "(transformer or vae; a GAN bundle goes with --gan)");
  }
  return m;
}

std::shared_ptr<const LatentCondition> Model::condition(const std::vector<float>& z) const {
  const ModelConfig& c = config_;
  if (c.latent == 0)
    throw InputError(dir_ + ": not a VAE bundle; a latent code needs one ('plotforge export' of a VAE run)");
  if (static_cast<int>(z.size()) != c.latent) {
    throw InputError("latent code has " + std::to_string(z.size()) + " values; the VAE's latent size is " +
                     std::to_string(c.latent));
  }
  auto out = std::make_shared<LatentCondition>();
  const int mem = c.n_layers * 2 * c.n_kv_heads * c.head_dim();
  out->memory.assign(mem, 0.f);
  out->embedding.assign(c.dim, 0.f);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, mem, c.latent, 1.0f, latent_to_memory_, c.latent, z.data(), 1, 0.0f,
              out->memory.data(), 1);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, c.dim, c.latent, 1.0f, latent_to_embedding_, c.latent, z.data(), 1, 0.0f,
              out->embedding.data(), 1);
  return out;
}

}  // namespace plotforge::runtime
