#include "training/run.h"

#include <filesystem>

#include "base/error.h"
#include "base/files.h"
#include "datasets/digest.h"
#include "models/lora.h"
#include "training/base_model.h"

namespace plotforge {

OpenedRun open_run(const std::string& path_or_dir, const std::string& kind) {
  OpenedRun r;
  r.checkpoint = resolve_checkpoint(path_or_dir);
  r.state = load_checkpoint(r.checkpoint);
  if (!kind.empty()) expect_kind(r.state, kind, r.checkpoint);
  r.tokenizer_path = (std::filesystem::path(r.checkpoint).parent_path().parent_path() / "tokenizer.model").string();
  if (!std::filesystem::is_regular_file(r.tokenizer_path)) {
    throw InputError(r.tokenizer_path +
                     ": missing; a run directory keeps the tokenizer it was trained with "
                     "(copy it back from the corpus's tokenizer, or train again)");
  }
  // A tokenizer's sha256 is that of its file's bytes (datasets/digest.h).
  if (sha256_file(r.tokenizer_path) != r.state.tokenizer_sha256) {
    throw InputError(r.tokenizer_path + ": sha256 differs from the one " + r.checkpoint + " was trained with");
  }
  return r;
}

LoraConfig lora_of(const OpenedRun& run) {
  LoraConfig lora;
  const auto it = run.state.config.find("lora");
  if (it != run.state.config.end()) from_json(*it, &lora, run.checkpoint + ": lora");
  return lora;
}

Transformer load_transformer(const OpenedRun& run) {
  Transformer model(run.state.model);
  const LoraConfig lora = lora_of(run);
  if (lora.rank > 0) {
    const auto it = run.state.config.find("init_from");
    if (it == run.state.config.end()) throw InputError(run.checkpoint + ": a LoRA checkpoint without its base");
    load_base(base_from_json(*it, run.checkpoint), model);
    add_lora(model, lora);
  }
  load_checkpoint(run.checkpoint, {model.get(), nullptr, nullptr, nullptr, lora.rank > 0});
  return model;
}

const nlohmann::json& config_entry(const OpenedRun& run, const std::string& key) {
  const auto it = run.state.config.find(key);
  if (it == run.state.config.end()) {
    throw InputError(run.checkpoint + ": the " + run.state.kind + " checkpoint's configuration has no '" + key +
                     "' entry; it is incomplete (train it again)");
  }
  return *it;
}

std::vector<std::string> genre_list(const OpenedRun& run) {
  const nlohmann::json& g = config_entry(run, "genres");
  if (!g.is_array()) throw InputError(run.checkpoint + ": 'genres' is not a list");
  std::vector<std::string> out;
  for (const auto& x : g) {
    if (!x.is_string()) throw InputError(run.checkpoint + ": 'genres' holds a non-string");
    out.push_back(x.get<std::string>());
  }
  return out;
}

}  // namespace plotforge
