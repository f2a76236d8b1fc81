#include "training/hf_llama.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "base/safetensors.h"
#include "models/hf_llama_files.h"

namespace plotforge {

namespace fs = std::filesystem;

TransformerConfig read_hf_llama_config(const std::string& path) {
  return hf_llama_config_from_json(read_json_object(path), path);
}

HfLlama open_hf_llama(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir + ": not a directory (a Hugging Face model directory)");
  HfLlama hf;
  hf.dir = dir;
  const fs::path root(dir);
  hf.config = read_hf_llama_config((root / "config.json").string());
  const fs::path index = root / "model.safetensors.index.json";
  if (fs::exists(index, ec)) {
    hf.weight_map = hf_weight_map_from_index(read_json_object(index.string()), index.string(), dir);
  } else {
    const fs::path single = root / "model.safetensors";
    if (!fs::is_regular_file(single, ec)) {
      throw InputError(dir + ": has neither model.safetensors nor model.safetensors.index.json");
    }
    const SafetensorsFile f = SafetensorsFile::open(single.string());
    for (const auto& [name, view] : f.tensors()) hf.weight_map[name] = single.string();
  }
  return hf;
}

void load_hf_weights(const HfLlama& hf, torch::nn::Module& model, bool grow_vocab) {
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files;
  auto file = [&](const std::string& path) -> const SafetensorsFile& {
    auto& f = files[path];
    if (!f) f = std::make_unique<SafetensorsFile>(SafetensorsFile::open(path));
    return *f;
  };
  for (const auto& [name, path] : hf.weight_map) {
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      throw InputError(path + ": tensor " + name + " is a bias; plotforge's Llama layers have none");
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    const std::string& key = p.key();
    const std::string name = key.rfind("lm_head", 0) == 0 ? key : "model." + key;
    const auto it = hf.weight_map.find(name);
    if (it == hf.weight_map.end()) throw InputError(hf.dir + ": tensor " + name + " is missing from its weights");
    const TensorView& view = file(it->second).at(name);
    std::vector<float> values = to_float32(view, it->second, name);
    torch::Tensor src = torch::from_blob(values.data(), view.shape, torch::kFloat32);
    torch::Tensor& dst = p.value();
    const bool vocab_rows = grow_vocab && (key == "embed_tokens.weight" || key == "lm_head.weight");
    const bool same = src.sizes() == dst.sizes();
    const bool grows =
        vocab_rows && src.dim() == 2 && dst.dim() == 2 && src.size(1) == dst.size(1) && src.size(0) < dst.size(0);
    if (!same && !grows) {
      throw InputError(it->second + ": tensor " + name + " has shape " + c10::str(src.sizes()) + ", expected " +
                       c10::str(dst.sizes()) + " from config.json");
    }
    if (same) {
      dst.copy_(src);
    } else {
      dst.narrow(0, 0, src.size(0)).copy_(src);
      dst.narrow(0, src.size(0), dst.size(0) - src.size(0))
          .copy_(src.mean(0, true).expand({dst.size(0) - src.size(0), -1}));
    }
  }
}

}  // namespace plotforge
