// LoRA adapters on a Transformer (LoraConfig in models/config.h explains
// the method): adding them, finding them, and the merged weights.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "models/transformer.h"

namespace plotforge {

// Adds a LoRA path to each target projection of every block and freezes
// every other parameter (requires_grad false: the trainer skips them in the
// optimizer, gradient clipping and reduction, and checkpoints leave them
// out). A gets Linear's initialisation (Kaiming-uniform, a = sqrt(5)), B
// zeros, as PEFT does. Throws InputError for a bad configuration.
void add_lora(Transformer& model, const LoraConfig& config);

// Each adapted projection: its parameter prefix ("layers.0.self_attn.q_proj")
// and its path, in layer order.
std::vector<std::pair<std::string, const LoraPath*>> lora_paths(Transformer& model);

// The weights with every adapter merged in: W + scale * B A for adapted
// projections, the parameter itself otherwise; lora_A/lora_B left out.
// Names as named_parameters() gives them.
std::vector<std::pair<std::string, torch::Tensor>> merged_weights(Transformer& model);

}  // namespace plotforge
