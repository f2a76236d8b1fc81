// Tensors from the dataset layer's batches (datasets/loader.h): token ids,
// and the scenes of SceneLoader batches shared by the scene-level objectives
// (VAE, GAN, classifier) and 'plotforge eval'.
#pragma once

#include <cstdint>
#include <vector>

#include <c10/core/Device.h>
#include <torch/types.h>

#include "datasets/loader.h"

namespace plotforge {

// ids [rows * cols] int32 -> [rows, cols] int64 on `device`.
torch::Tensor token_tensor(const std::vector<std::int32_t>& ids, int rows, int cols, const c10::Device& device);

// Token rows as one [rows, longest] tensor padded with -1, without the ids
// in `drop`, each cut to max_tokens. The classifier drops the control tokens
// (<scene>, <beat=...>, ...), so it judges the text alone and never reads a
// label off the conditioning.
torch::Tensor padded_rows(const std::vector<std::vector<int>>& rows, const std::vector<int>& drop, int max_tokens,
                          const c10::Device& device);
// The rows of a scene batch (without padding).
std::vector<std::vector<int>> scene_rows(const SceneBatch& batch);

// Class labels as an int64 tensor on `device` (-1: unlabeled).
torch::Tensor labels(const std::vector<std::int32_t>& v, const torch::Device& device);

// Cross-entropy over the labeled rows only (-1: unlabeled); 0 when none is.
// Adds the labeled rows to *count and the correct ones to *correct.
torch::Tensor labeled_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target, long* correct,
                                    long* count);

// Scenes cut to the model's context: inputs are the scene's tokens with
// padding as 0, targets the next tokens with padding and the last position
// as -1 (ignored).
struct SceneTensors {
  torch::Tensor tokens;   // [B, T], -1 padding
  torch::Tensor inputs;   // [B, T]
  torch::Tensor targets;  // [B, T]
  long n_targets = 0;
};
SceneTensors scene_tensors(const SceneBatch& b, const torch::Device& device);

// Summed next-token NLL per row, [B], with padding ignored.
torch::Tensor row_nll(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace plotforge
