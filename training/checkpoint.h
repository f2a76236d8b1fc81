// Checkpoints: one file per save, DIR/checkpoints/step-NNNNNNNN.pt (and
// best.pt), written atomically. Each holds the model's parameters, the
// optimizer state, the step, the CPU RNG state, the data loader's position,
// the tokenizer's sha256 and the run's configuration — everything an exact
// resume needs. Every kind of model (Transformer, VAE, GAN, classifier) uses
// the same file; `kind` says which it holds.
//
// Format plotforge-checkpoint-2 keeps the configuration once, as one JSON
// document (`config_json`): {"model": the TransformerConfig, "train": the
// TrainOptions, then the kind's own entries ("vae", "gan", "gan_model",
// "genres")}, each written from its settings table (base/settings.h).
// Format 1 (before this change: model.* archive values, settings_json and
// config_ini) still loads: its values are read into the same document.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/config.h"

namespace torch::optim {
class Optimizer;
}
namespace torch::nn {
class Module;
}

namespace plotforge {

struct CheckpointState {
  long step = 0;                      // optimizer steps completed
  std::uint64_t loader_position = 0;  // next global batch
  double best_val_loss = 1e30;
  double elapsed_s = 0;  // training wall time before this save
  std::string tokenizer_sha256;
  std::string kind = "transformer";  // transformer | vae | gan | classifier
  TransformerConfig model;           // config["model"], parsed (vocab_size included)
  // The run's configuration without "model" (see above); save_checkpoint
  // adds "model" from `model`.
  nlohmann::json config = nlohmann::json::object();
};

// The modules and optimizers one checkpoint holds: the trained model and its
// optimizer, and optionally a second model with its own optimizer (the GAN's
// critic).
struct CheckpointParts {
  torch::nn::Module* model = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  torch::nn::Module* aux = nullptr;
  torch::optim::Optimizer* aux_optimizer = nullptr;
  // A LoRA run: the model's frozen parameters (requires_grad false) are the
  // base's, which the checkpoint names instead of storing
  // (training/base_model.h); they are neither written nor read. Off, every
  // parameter is kept (a recommender's closed-form factors are frozen too).
  bool frozen_from_base = false;
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointState& state);

// Reads the state and loads whatever parts are given (parameters, optimizer
// state and, with an optimizer, the RNG). Throws InputError naming the file
// if it is not a complete plotforge checkpoint.
CheckpointState load_checkpoint(const std::string& path, const CheckpointParts& parts = {});

// Throws InputError naming `path` unless the checkpoint holds a `kind` model.
void expect_kind(const CheckpointState& state, const std::string& kind, const std::string& path);

// The step-*.pt files of DIR/checkpoints, newest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);
std::string checkpoint_path(const std::string& run_dir, long step);
std::string best_checkpoint_path(const std::string& run_dir);

// A checkpoint argument may be a run directory (its newest valid checkpoint)
// or a file. Throws InputError if nothing loadable is found.
std::string resolve_checkpoint(const std::string& path_or_dir);

}  // namespace plotforge
