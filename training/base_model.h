// Where fine-tuning starts (`plotforge train --init-from`): a plotforge run
// (a run directory, its newest checkpoint, or a checkpoint file; imported
// runs included, training/import.h) or a bundle directory (training/
// export.h, or any Hugging Face Llama directory with plotforge's tokenizer).
//
// A fine-tuned run's checkpoints record the base by path and sha256. A LoRA
// run's checkpoints hold only the adapters, so loading one (load_transformer
// in training/run.h) loads the base from that path first and refuses a base
// whose bytes changed since.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/transformer.h"

namespace plotforge {

struct BaseModel {
  std::string path;  // absolute: the checkpoint file or the bundle directory
  bool bundle = false;
  std::string sha256;  // of the checkpoint file, or of the bundle's weight files
  std::string tokenizer_sha256;
  TransformerConfig config;  // vocab_size included
};

// Opens `path` (InputError naming it when it is neither a transformer run nor
// a Llama bundle).
BaseModel open_base(const std::string& path);

// Copies the base's weights into `model` (same shape; InputError otherwise).
void load_base(const BaseModel& base, Transformer& model);

// {"path", "bundle", "sha256"} for a checkpoint's configuration; reading it
// back opens the base again and throws InputError naming `where` and the
// path if its sha256 differs.
nlohmann::json to_json(const BaseModel& base);
BaseModel base_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace plotforge
