#include "training/base_model.h"

#include <filesystem>
#include <set>

#include "base/error.h"
#include "datasets/digest.h"
#include "training/checkpoint.h"
#include "training/hf_llama.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

// A bundle's weights: one file's sha256, or (sharded) that of its files'
// sha256s in name order.
std::string weights_sha256(const HfLlama& hf) {
  std::set<std::string> files;
  for (const auto& [tensor, file] : hf.weight_map) files.insert(file);
  if (files.size() == 1) return sha256_file(*files.begin());
  std::string digests;
  for (const auto& f : files) digests += sha256_file(f);
  return sha256_hex(digests);
}

}  // namespace

BaseModel open_base(const std::string& path) {
  BaseModel b;
  std::error_code ec;
  if (fs::is_directory(path, ec) && fs::exists(fs::path(path) / "config.json", ec)) {
    const HfLlama hf = open_hf_llama(path);
    const std::string tok = (fs::path(path) / "tokenizer.model").string();
    if (!fs::is_regular_file(tok, ec)) throw InputError(tok + ": missing; a bundle carries its tokenizer");
    b.path = fs::absolute(path).lexically_normal().string();
    b.bundle = true;
    b.sha256 = weights_sha256(hf);
    b.tokenizer_sha256 = sha256_file(tok);
    b.config = hf.config;
    return b;
  }
  const std::string ckpt = resolve_checkpoint(path);
  const CheckpointState s = load_checkpoint(ckpt);
  expect_kind(s, "transformer", ckpt);
  if (s.config.contains("lora")) {
    throw InputError(ckpt + ": a LoRA run; start from its merged export (plotforge export --checkpoint " + path +
                     " --out BUNDLE) instead");
  }
  b.path = fs::absolute(ckpt).lexically_normal().string();
  b.sha256 = sha256_file(ckpt);
  b.tokenizer_sha256 = s.tokenizer_sha256;
  b.config = s.model;
  return b;
}

void load_base(const BaseModel& base, Transformer& model) {
  if (model_json(model->config()) != model_json(base.config)) {
    throw InputError(base.path + ": its model shape " + model_json(base.config).dump() + " differs from " +
                     model_json(model->config()).dump());
  }
  if (base.bundle) {
    load_hf_weights(open_hf_llama(base.path), *model);
  } else {
    load_checkpoint(base.path, {model.get()});
  }
}

nlohmann::json to_json(const BaseModel& b) { return {{"path", b.path}, {"bundle", b.bundle}, {"sha256", b.sha256}}; }

BaseModel base_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("path") || !j["path"].is_string() || !j.contains("sha256") ||
      !j["sha256"].is_string()) {
    throw InputError(where + ": 'init_from' lacks its path or sha256");
  }
  const std::string path = j["path"].get<std::string>();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw InputError(where + ": its base model " + path + " is missing; put it back (or export the run merged)");
  }
  BaseModel b = open_base(path);
  if (b.sha256 != j["sha256"].get<std::string>()) {
    throw InputError(where + ": its base model " + path + " has sha256 " + b.sha256.substr(0, 12) + "…, not the " +
                     j["sha256"].get<std::string>().substr(0, 12) + "… it was trained on");
  }
  return b;
}

}  // namespace plotforge
