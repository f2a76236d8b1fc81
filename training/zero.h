// ZeRO stage 1, as llm.c does it: the parameters, laid end to end as one
// flat vector (padded to a multiple of the world size), are cut into equal
// contiguous shards, one per rank. A rank's AdamW holds moments for, and
// updates, only its shard. Each step:
//
//   1. reduce-scatter the gradients: rank r receives the sum of shard r only
//      (the same bytes on a ring as half an all-reduce);
//   2. the global gradient norm from the shards' squared norms (one scalar
//      all-reduce), and clipping, as torch::nn::utils::clip_grad_norm_ does;
//   3. AdamW on the shard;
//   4. all-gather the updated shards into every rank's parameters.
//
// So a step moves what one all-reduce moves, and AdamW's 8 bytes per
// parameter become 8 / world size. AdamW is elementwise, so splitting a
// parameter between two ranks changes no arithmetic: a rank keeps each
// parameter's slice inside its shard as a "piece", a view of the parameter
// that its AdamW steps in place, grouped for weight decay as its whole
// parameter is.
//
// The gradient hooks of GradientReducer (distributed.h) are not used: the
// reduce-scatter runs after the last backward, not overlapped with it.
//
// Checkpoints stay world-size independent: gather_into() fills an ordinary
// AdamW over all parameters (a collective: every rank calls it), which is
// what the checkpoint stores; scatter_from() takes each rank's slices back
// out of one after loading.
#pragma once

#include <memory>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include "training/distributed.h"
#include "training/optimizer.h"

namespace plotforge {

class ShardedAdamW {
 public:
  // Every parameter must have the same dtype and device.
  ShardedAdamW(DataParallel& dp, torch::nn::Module& model, const AdamWSettings& s, bool tied);
  void set_learning_rate(double lr);
  // After the last backward of a step: steps 1 and 2 above. Returns the
  // averaged gradients' global norm before clipping; max_norm 0 does not
  // clip. The model's own gradients are left as they were.
  double reduce_gradients(double max_norm);
  // Steps 3 and 4.
  void step();
  void gather_into(torch::optim::AdamW& full);
  void scatter_from(torch::optim::AdamW& full);
  // Parameter values (and their share of the state) this rank owns.
  std::size_t owned_parameters() const;
  std::size_t total_parameters() const { return static_cast<std::size_t>(total_); }

 private:
  // The part of parameter `param` in this rank's shard: a view of elements
  // [begin, begin + value.numel()) of its flattened values, at
  // shard_offset in the shard.
  struct Piece {
    std::size_t param;
    std::int64_t begin, shard_offset;
    torch::Tensor value;
  };
  torch::Tensor flat_of(const std::vector<torch::Tensor>& per_param) const;  // padded, [shard_ * world]

  DataParallel& dp_;
  std::vector<torch::Tensor> params_;
  std::vector<std::int64_t> offset_;  // of each parameter in the flat vector
  std::int64_t total_ = 0, shard_ = 0;
  std::vector<Piece> pieces_;
  torch::Tensor grad_shard_;
  std::unique_ptr<torch::optim::AdamW> local_;  // over pieces_
};

}  // namespace plotforge
