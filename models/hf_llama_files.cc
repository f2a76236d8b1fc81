#include "models/hf_llama_files.h"

#include <filesystem>

#include "base/error.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

// A field that must be absent, null or equal to `allowed`.
void expect_absent_or(const nlohmann::json& j, const std::string& where, const char* field,
                      const nlohmann::json& allowed, const std::string& why) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null() || *it == allowed) return;
  throw InputError(where + ": field '" + field + "' is " + it->dump() + "; " + why);
}

}  // namespace

TransformerConfig hf_llama_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": not a JSON object");
  const auto arch = j.find("architectures");
  const bool llama = arch != j.end() && arch->is_array() && arch->size() == 1 && (*arch)[0] == "LlamaForCausalLM";
  if (!llama) {
    throw InputError(where + ": field 'architectures' is " + (arch == j.end() ? std::string("missing") : arch->dump()) +
                     "; plotforge imports [\"LlamaForCausalLM\"] only");
  }
  expect_absent_or(j, where, "model_type", "llama", "plotforge imports Llama models only");
  expect_absent_or(j, where, "rope_scaling", nullptr,
                   "rope scaling is not implemented in plotforge (plain rotary embeddings only)");
  expect_absent_or(j, where, "attention_bias", false, "plotforge's attention has no biases");
  expect_absent_or(j, where, "mlp_bias", false, "plotforge's MLP has no biases");
  expect_absent_or(j, where, "hidden_act", "silu", "plotforge's MLP is SwiGLU (silu)");
  expect_absent_or(j, where, "pretraining_tp", 1, "tensor-parallel slicing of the MLP is not implemented");
  TransformerConfig c = from_hf_llama_json(j, where);
  const auto hd = j.find("head_dim");
  if (hd != j.end() && !hd->is_null()) {
    // Compared as a quotient: a huge head_dim must not overflow a product.
    const bool fits =
        hd->is_number_integer() && c.n_heads > 0 && c.dim % c.n_heads == 0 && hd->get<long long>() == c.dim / c.n_heads;
    if (!fits) {
      throw InputError(where + ": field 'head_dim' is " + hd->dump() +
                       "; plotforge needs hidden_size / num_attention_heads = " +
                       std::to_string(c.n_heads > 0 ? c.dim / c.n_heads : 0));
    }
  }
  try {
    c.validate();
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  return c;
}

std::map<std::string, std::string> hf_weight_map_from_index(const nlohmann::json& j, const std::string& where,
                                                            const std::string& dir) {
  const auto map = j.is_object() ? j.find("weight_map") : j.end();
  if (!j.is_object() || map == j.end() || !map->is_object() || map->empty()) {
    throw InputError(where + ": field 'weight_map' is missing or empty");
  }
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& [tensor, file] : map->items()) {
    if (!file.is_string() || file.get<std::string>().empty() ||
        file.get<std::string>().find('/') != std::string::npos) {
      throw InputError(where + ": weight_map['" + tensor + "'] is not a file name in " + dir);
    }
    const fs::path shard = fs::path(dir) / file.get<std::string>();
    if (!fs::is_regular_file(shard, ec)) {
      throw InputError(shard.string() + ": missing (" + fs::path(where).filename().string() + " names it for " +
                       tensor + ")");
    }
    out[tensor] = shard.string();
  }
  return out;
}

}  // namespace plotforge
