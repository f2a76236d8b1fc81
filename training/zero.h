// ZeRO stage 1: AdamW's state sharded across data-parallel ranks, as
// PyTorch's ZeroRedundancyOptimizer does it. Whole parameters are assigned
// to ranks (largest first, each to the least-loaded rank); a rank's AdamW
// holds moments for, and updates, only its own; after the update every
// parameter is broadcast from its owner. Gradients are still all-reduced in
// full (torch 1.13's Gloo has no reduce-scatter), so what this saves is
// optimizer memory: 8 bytes per parameter become 8 / world size.
//
// Checkpoints stay world-size independent: gather_into() fills an ordinary
// AdamW over all parameters (a collective: every rank calls it), which is
// what the checkpoint stores; scatter_from() takes each rank's part back out
// of one after loading.
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
  ShardedAdamW(DataParallel& dp, torch::nn::Module& model, const AdamWSettings& s, bool tied);
  void set_learning_rate(double lr);
  void step();  // own parameters' update, then every parameter from its owner
  void gather_into(torch::optim::AdamW& full);
  void scatter_from(torch::optim::AdamW& full);
  // Parameters (and their share of the state) this rank owns.
  std::size_t owned_parameters() const;
  std::size_t total_parameters() const;

 private:
  DataParallel& dp_;
  std::vector<torch::Tensor> params_;
  std::vector<int> owner_;
  std::unique_ptr<torch::optim::AdamW> local_;  // over this rank's parameters only
};

}  // namespace plotforge
