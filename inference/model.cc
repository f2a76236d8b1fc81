#include "inference/model.h"

#include <cblas.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"
#include "base/settings.h"
#include "inference/adapter.h"
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

ModelConfig model_config(const nlohmann::json& j, const std::string& cfg_path, bool decoder) {
  // The model's fields under their Hugging Face names (models/config.h).
  const TransformerConfig t = from_hf_llama_json(j, cfg_path);
  for (const int v : {t.dim, t.n_layers, t.n_heads, t.n_kv_heads, t.ffn_hidden, t.vocab_size, t.context}) {
    if (v < 0 || v > (1 << 30)) throw InputError(cfg_path + ": a size field is negative or not sensible");
  }
  ModelConfig c;
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
  if (decoder) c.eos_id = int_field(j, "eos_token_id", cfg_path);
  if (c.dim < 1 || c.n_layers < 1 || c.n_heads < 1 || c.n_kv_heads < 1 || c.dim % c.n_heads != 0 ||
      c.n_heads % c.n_kv_heads != 0 || c.head_dim() % 2 != 0 || c.vocab < 1 || c.context < 1 || c.hidden < 1 ||
      c.eos_id >= c.vocab) {
    throw InputError(cfg_path +
                     ": inconsistent sizes (heads must divide hidden_size, kv heads must divide heads, "
                     "head_dim must be even)");
  }
  return c;
}

std::unique_ptr<Model> Model::load(const std::string& dir, std::optional<WeightType> weights,
                                   const std::string& merge) {
  std::unique_ptr<Model> m(new Model());
  m->dir_ = dir;
  const std::string cfg_path = dir + "/config.json";
  const nlohmann::json j = read_json_object(cfg_path);
  m->config_ = model_config(j, cfg_path, /*decoder=*/true);
  ModelConfig& c = m->config_;
  const auto& pf = j.contains("plotforge") && j["plotforge"].is_object() ? j["plotforge"] : nlohmann::json::object();
  if (pf.contains("source_sha256") && pf["source_sha256"].is_string()) {
    m->source_sha256_ = pf["source_sha256"].get<std::string>();
  }
  m->file_ = std::make_unique<WeightFile>(dir + "/model.safetensors", "config.json", weights);
  if (!merge.empty()) {
    // Merged mode: each adapted matrix is loaded as W + scale * B A.
    const auto adapter = Adapter::load(merge, c, m->source_sha256_, dir);
    static const char* const kNames[kProjections] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                     "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                                     "mlp.down_proj"};
    for (int l = 0; l < c.n_layers; ++l) {
      for (int p = 0; p < kProjections; ++p) {
        std::vector<float> d = adapter->delta(l, static_cast<Proj>(p));
        if (!d.empty()) {
          m->file_->add_delta("model.layers." + std::to_string(l) + "." + kNames[p] + ".weight", std::move(d));
        }
      }
    }
  }
  m->tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(dir + "/tokenizer.model"));
  if (m->tokenizer_->vocab_size() != c.vocab) {
    throw InputError(dir + "/tokenizer.model: " + std::to_string(m->tokenizer_->vocab_size()) +
                     " pieces, config.json says vocab_size " + std::to_string(c.vocab));
  }
  const std::int64_t D = c.dim, V = c.vocab, hd = c.head_dim(), q_out = c.n_heads * hd, kv_out = c.n_kv_heads * hd,
                     H = c.hidden;
  m->embed_ = m->file_->matrix("model.embed_tokens.weight", {V, D});
  m->lm_head_ = c.tie_embeddings ? m->embed_ : m->file_->matrix("lm_head.weight", {V, D});
  m->final_norm_ = m->file_->get("model.norm.weight", {D});
  for (int l = 0; l < c.n_layers; ++l) {
    m->layers_.push_back(m->file_->layer("model.layers." + std::to_string(l) + ".", c.dim, q_out, kv_out, H));
  }
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
    m->latent_to_memory_ = m->file_->get("plotforge.latent_to_memory.weight", {c.n_layers * 2 * kv_out, c.latent});
    m->latent_to_embedding_ = m->file_->get("plotforge.latent_to_embedding.weight", {D, c.latent});
  } else if (kind != "transformer") {
    throw InputError(cfg_path + ": plotforge.model_kind '" + kind +
                     "' is not a decoder the runtime runs "
                     "(transformer or vae; a GAN bundle goes with --gan)");
  }
  return m;
}

Model::Reads Model::decode_reads() const {
  Reads r;
  const auto add = [&r](const WeightMatrix& w) {
    r.values += static_cast<double>(w.rows) * w.cols;
    r.bytes += static_cast<double>(w.bytes());
  };
  add(lm_head_);
  for (const LayerWeights& l : layers_) {
    for (const WeightMatrix* w : {&l.wqkv, &l.wo, &l.wgate_up, &l.wdown}) add(*w);
  }
  const double norms = config_.dim * (1.0 + 2.0 * config_.n_layers);  // float32
  r.values += norms;
  r.bytes += 4 * norms;
  return r;
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
