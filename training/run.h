// A trained run opened for use: `generate`, `export`, `eval`, the VAE and
// GAN loaders and --vae.init_decoder all start here.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/transformer.h"
#include "training/checkpoint.h"

namespace plotforge {

// The checkpoint `path_or_dir` names (resolve_checkpoint), its state, and
// its run's tokenizer.model. Throws InputError naming the file unless the
// checkpoint holds a `kind` model ("" takes any) and the tokenizer file is
// the one it was trained with.
struct OpenedRun {
  std::string checkpoint, tokenizer_path;
  CheckpointState state;
};
OpenedRun open_run(const std::string& path_or_dir, const std::string& kind);

// A transformer run's model, ready to use: for a LoRA run (training/
// base_model.h) the base is loaded from the path its checkpoint records
// (sha256 checked) and the adapters added, then the checkpoint's weights.
Transformer load_transformer(const OpenedRun& run);
// The run's LoRA configuration; rank 0 when it has none.
LoraConfig lora_of(const OpenedRun& run);

// The run's configuration entry `key` (checkpoint.h); InputError naming the
// checkpoint if it is absent.
const nlohmann::json& config_entry(const OpenedRun& run, const std::string& key);
// The genre labels a GAN or classifier was trained with, in its order.
std::vector<std::string> genre_list(const OpenedRun& run);

}  // namespace plotforge
