// The AdamW set-up every generator trains with: decoupled weight decay on
// matrices only (not on norms, nor on an untied token embedding).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/adamw.h>

#include "models/transformer.h"

namespace plotforge {

struct AdamWSettings {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.1;
};

// The parameters training updates: those with requires_grad (a LoRA run
// freezes its base, models/lora.h). Everything the trainer does to
// parameters (AdamW, clipping, gradient reduction, ZeRO-1 shards) goes
// through this list.
std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& model);

// The AdamW these return is torch's (its options, state and checkpoint
// format), with its step done in one loop per parameter when every parameter
// with a gradient is a contiguous CPU float32 tensor: torch's step is about
// ten tensor operations per parameter, which on a small CPU model cost more
// than the arithmetic. The loop computes torch's AdamW formula (decoupled
// decay, bias-corrected moments, no amsgrad) with the same roundings except
// where torch's vectorised kernels fuse a multiply-add (within 1e-6 relative
// per step; tests/optimizer_test.cc). Other devices take torch's step.
//
// Parameters whose name contains "embed_tokens" are embeddings: no decay
// unless `tied` (then they are also the output matrix).
// Over the trainable parameters only.
std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const AdamWSettings& s, bool tied);
std::unique_ptr<torch::optim::AdamW> make_adamw(Transformer& model, const AdamWSettings& s);
// Whether the parameter `name` (of that shape) takes weight decay.
bool takes_weight_decay(const std::string& name, const torch::Tensor& value, bool tied);
// Over tensors already split by takes_weight_decay (a ZeRO shard's pieces).
std::unique_ptr<torch::optim::AdamW> make_adamw(std::vector<torch::Tensor> decay, std::vector<torch::Tensor> no_decay,
                                                const AdamWSettings& s);

// The global L2 norm of the parameters' gradients (those defined); when
// max_norm > 0 and the norm exceeds it, scales every gradient by
// max_norm / (norm + 1e-6), as torch::nn::utils::clip_grad_norm_ does. CPU
// float32 gradients are summed in one double-precision loop each.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Sets every group's learning rate (the schedule changes it each step).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace plotforge
