// Checkpoints: one file per save, DIR/checkpoints/step-NNNNNNNN.pt (and
// best.pt), written atomically. Each holds the model's parameters, the
// optimizer state, the step, the CPU RNG state, the data loader's position,
// the model config, the resolved run config and the tokenizer's sha256 —
// everything an exact resume needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/transformer.h"

namespace torch::optim {
class Optimizer;
}

namespace plotforge {

struct CheckpointState {
  long step = 0;                      // optimizer steps completed
  std::uint64_t loader_position = 0;  // next global batch
  double best_val_loss = 1e30;
  double elapsed_s = 0;  // training wall time before this save
  std::string tokenizer_sha256;
  std::string config_ini;  // the resolved options, for the record
  TransformerConfig model;
};

void save_checkpoint(const std::string& path, Transformer& model, torch::optim::Optimizer* optimizer,
                     const CheckpointState& state);

// Reads the state and, when given, loads the model's parameters and the
// optimizer state. Throws InputError naming the file if it is not a complete
// plotforge checkpoint.
CheckpointState load_checkpoint(const std::string& path, Transformer* model = nullptr,
                                torch::optim::Optimizer* optimizer = nullptr);

// The step-*.pt files of DIR/checkpoints, newest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);
std::string checkpoint_path(const std::string& run_dir, long step);
std::string best_checkpoint_path(const std::string& run_dir);

// A checkpoint argument may be a run directory (its newest valid checkpoint)
// or a file. Throws InputError if nothing loadable is found.
std::string resolve_checkpoint(const std::string& path_or_dir);

}  // namespace plotforge
