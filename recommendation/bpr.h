// BPR matrix factorisation (Rendle et al. 2009) and its hybrid form
// (LightFM, Kula 2015), on libtorch.
//
// A user's score for an item is x_u . y_i + b_i. BPR learns from sampled
// triples (u, i, j), i among u's training items and j uniformly among the
// others, minimising -log sigmoid(s_ui - s_uj) plus L2 on the vectors in
// the batch, with Adam. In the hybrid, an item's vector and bias are sums
// over its features as well: y_i = e_i + sum_f w_if e_f and b_i = c_i +
// sum_f w_if c_f, with w_i its row of ItemFeatures; so an item nobody has
// chosen still gets a vector from its features (cold start), which plain
// BPR, whose e_i never moves from its small random start, cannot give.
//
// Deterministic under `seed` on the CPU: the factors' start comes from it,
// and epoch e's triples from (seed, e), so a run resumed from a checkpoint
// after epoch e (plotforge recommend train --resume) trains exactly as if
// it had never stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "recommendation/factors.h"
#include "recommendation/interactions.h"
#include "recommendation/item_features.h"

namespace plotforge::recommendation {

struct BprOptions {
  int factors = 64;
  // Defaults chosen on MovieLens-100k (docs/recommendation.md).
  int epochs = 60;   // each: as many triples as training interactions
  int batch = 1024;  // triples per Adam step
  double lr = 0.003;
  double reg = 0.01;  // L2 on the batch's vectors and biases
  std::uint64_t seed = 1;
  std::string device = "cpu";
  // The hybrid only: whether each item also has a vector and bias of its
  // own (e_i, c_i) beside its features'. Without them an item is its
  // features alone (LightFM's cold-start set-up): items with the same
  // features score the same, but an item few have chosen is not marked
  // down for having been a sampled negative more often than a positive.
  bool item_identity = true;
};

// Trained scores (factors.h): user vectors [U, f] and item vectors [I, f]
// and biases [I] (for the hybrid, already summed over the features).
using BprModel = FactorModel;

// Training one epoch at a time, with its parameters as a module and its
// Adam state, for checkpoints (recommendation/run.h). `features` null:
// plain BPR; given: the hybrid.
class BprTrainer {
 public:
  BprTrainer(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
             const ItemFeatures* features, const BprOptions& options);
  ~BprTrainer();
  double run_epoch();  // the mean loss of its steps
  int epoch() const { return epoch_; }
  void set_epoch(int e) { epoch_ = e; }  // after loading a checkpoint taken then
  torch::nn::Module& module();
  torch::optim::Optimizer& optimizer();
  BprModel model() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  int epoch_ = 0;
};

// All epochs at once. `progress(epoch, mean loss)` after each.
BprModel train_bpr(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                   const ItemFeatures* features, const BprOptions& options,
                   const std::function<void(int, double)>& progress = nullptr);

}  // namespace plotforge::recommendation
