#include "models/config.h"

#include <string>

#include "base/error.h"

namespace plotforge {

int TransformerConfig::hidden() const {
  if (ffn_hidden > 0) return ffn_hidden;
  const int h = (2 * 4 * dim) / 3;
  return (h + 31) / 32 * 32;
}

void TransformerConfig::validate() const {
  auto bad = [](const std::string& field, const std::string& why) { return InputError("model." + field + ": " + why); };
  if (vocab_size < 2) throw bad("vocab_size", "must be at least 2 (it comes from the tokenizer)");
  if (dim < 1) throw bad("dim", "must be positive");
  if (n_layers < 1) throw bad("n_layers", "must be positive");
  if (n_heads < 1 || dim % n_heads != 0) {
    throw bad("n_heads", std::to_string(n_heads) + " must divide dim = " + std::to_string(dim));
  }
  if (head_dim() % 2 != 0) throw bad("n_heads", "dim / n_heads must be even for rotary embeddings");
  if (n_kv_heads < 0 || n_heads % kv_heads() != 0) {
    throw bad("n_kv_heads", std::to_string(n_kv_heads) + " must divide n_heads = " + std::to_string(n_heads));
  }
  if (context < 1) throw bad("context", "must be positive");
  if (ffn_hidden < 0) throw bad("ffn_hidden", "must be positive (or 0 for the default)");
  if (!(norm_eps > 0)) throw bad("norm_eps", "must be positive");
  if (!(rope_theta > 0)) throw bad("rope_theta", "must be positive");
}

double TransformerConfig::train_flops_per_token() const {
  const double d = dim, kv = static_cast<double>(kv_heads()) * head_dim();
  const double per_layer = d * d * 2 + d * kv * 2 + 3.0 * d * hidden();  // q,o + k,v + gate,up,down
  const double n = n_layers * per_layer + d * vocab_size;                // + lm_head
  return 6.0 * n + 12.0 * n_layers * d * context;  // attention scores and mixing, as nanoGPT counts
}

nlohmann::json model_json(const TransformerConfig& c) {
  nlohmann::json j = to_json(c);
  j["vocab_size"] = c.vocab_size;
  return j;
}

TransformerConfig model_from_json(const nlohmann::json& j, const std::string& where) {
  TransformerConfig c;
  from_json(j, &c, where);
  if (!j.contains("vocab_size") || !j["vocab_size"].is_number_integer()) {
    throw InputError(where + ": field 'vocab_size' is missing or not an integer");
  }
  c.vocab_size = j["vocab_size"].get<int>();
  return c;
}

nlohmann::json hf_llama_json(const TransformerConfig& c) {
  TransformerConfig resolved = c;
  resolved.n_kv_heads = c.kv_heads();
  resolved.ffn_hidden = c.hidden();
  nlohmann::json j = nlohmann::json::object();
  for_each_field(resolved, [&](const char*, const auto& member, const char*, FieldTraits t) { j[t.hf] = member; });
  j["vocab_size"] = c.vocab_size;
  return j;
}

TransformerConfig from_hf_llama_json(const nlohmann::json& j, const std::string& where) {
  TransformerConfig c;
  nlohmann::json ours = nlohmann::json::object();
  for_each_field(c, [&](const char* key, const auto&, const char*, FieldTraits t) {
    // tie_word_embeddings is optional in Hugging Face configs (default false).
    if (!j.contains(t.hf)) {
      if (std::string(t.hf) == "tie_word_embeddings") return;
      throw InputError(where + ": field '" + t.hf + "' is missing");
    }
    ours[key] = j[t.hf];
  });
  from_json(ours, &c, where);
  if (!j.contains("vocab_size") || !j["vocab_size"].is_number_integer()) {
    throw InputError(where + ": field 'vocab_size' is missing or not an integer");
  }
  c.vocab_size = j["vocab_size"].get<int>();
  return c;
}

namespace {

const char* const kLoraTargets[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

}  // namespace

std::vector<std::string> LoraConfig::target_list() const {
  std::vector<std::string> out;
  std::string known;
  for (const char* t : kLoraTargets) known += (known.empty() ? "" : ",") + std::string(t);
  std::size_t start = 0;
  while (start <= targets.size()) {
    std::size_t comma = targets.find(',', start);
    if (comma == std::string::npos) comma = targets.size();
    const std::string t = targets.substr(start, comma - start);
    start = comma + 1;
    if (t.empty()) continue;
    bool ok = false;
    for (const char* k : kLoraTargets) ok = ok || t == k;
    if (!ok) throw InputError("lora.targets: '" + t + "' is not one of " + known);
    bool seen = false;
    for (const auto& o : out) seen = seen || o == t;
    if (!seen) out.push_back(t);
  }
  if (out.empty()) throw InputError("lora.targets: name at least one of " + known);
  return out;
}

void LoraConfig::validate() const {
  auto bad = [](const std::string& f, const std::string& why) { return InputError("lora." + f + ": " + why); };
  if (rank < 0) throw bad("rank", "must not be negative");
  if (!(alpha > 0)) throw bad("alpha", "must be positive");
  if (!(dropout >= 0 && dropout < 1)) throw bad("dropout", "must be in [0, 1)");
  target_list();
}

long long LoraConfig::parameter_count(const TransformerConfig& c) const {
  const long long d = c.dim, q = static_cast<long long>(c.n_heads) * c.head_dim(),
                  kv = static_cast<long long>(c.kv_heads()) * c.head_dim(), h = c.hidden();
  long long per_layer = 0;
  for (const auto& t : target_list()) {
    if (t == "q_proj") per_layer += d + q;
    if (t == "k_proj" || t == "v_proj") per_layer += d + kv;
    if (t == "o_proj") per_layer += q + d;
    if (t == "gate_proj" || t == "up_proj" || t == "down_proj") per_layer += d + h;
  }
  return static_cast<long long>(rank) * per_layer * c.n_layers;
}

void GANConfig::validate() const {
  auto bad = [](const std::string& f, const std::string& why) { return InputError("gan." + f + ": " + why); };
  if (latent < 1) throw bad("latent", "must be positive");
  if (noise < 1) throw bad("noise", "must be positive");
  if (hidden < 1) throw bad("hidden", "must be positive");
  if (layers < 2) throw bad("layers", "must be at least 2");
  if (n_genres < 0) throw bad("n_genres", "must not be negative");
  if (genre_dim < 1) throw bad("genre_dim", "must be positive");
}

}  // namespace plotforge
