// Implicit-feedback ALS (Hu, Koren and Volinsky 2008), on libtorch so it
// runs where the generators train (--device cpu|cuda).
//
// Every (user, item) pair has a preference p (1 when the user interacted,
// else 0) and a confidence c = 1 + alpha * value. User factors X [U, f]
// and item factors Y [I, f] minimise
//   sum over all pairs of c (p - x_u . y_i)^2 + reg (|X|^2 + |Y|^2)
// by alternating exact least squares: with Y fixed, each user's
//   x_u = (Y^T Y + Y_u^T (C_u - I) Y_u + reg I)^-1 Y_u^T c_u
// (Y^T Y shared by all users, the rest only over the user's own items),
// then the same for the items. Each half-step solves its block exactly, so
// the loss never goes up (tested). Factors start from N(0, 0.01) drawn
// from `seed`: a seed gives the same model every time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "recommendation/factors.h"
#include "recommendation/interactions.h"

namespace plotforge::recommendation {

struct AlsOptions {
  // Defaults chosen on MovieLens-100k (docs/recommendation.md).
  int factors = 64;
  int iterations = 15;
  double reg = 30;
  double alpha = 1;  // confidence per unit of value
  std::uint64_t seed = 1;
  std::string device = "cpu";
};

// Training one sweep at a time, with the factors as a module, for
// checkpoints (recommendation/run.h). A sweep depends only on the factors
// before it, so a run resumed after sweep n trains as if it never stopped.
class AlsTrainer {
 public:
  AlsTrainer(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
             const AlsOptions& options);
  ~AlsTrainer();
  // The loss after it when `loss` (dense over all pairs), else NaN.
  double run_iteration(bool loss = true);
  int iteration() const { return iteration_; }
  void set_iteration(int i) { iteration_ = i; }  // after loading a checkpoint taken then
  torch::nn::Module& module();
  FactorModel model() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  int iteration_ = 0;
};

// All sweeps at once. `progress(iteration, loss)` after each (1..n).
FactorModel train_als(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                      const AlsOptions& options, const std::function<void(int, double)>& progress = nullptr);

// The objective above, over all U x I pairs (dense: for evaluation sizes).
double als_loss(const FactorModel& m, const std::vector<Interaction>& train, const AlsOptions& options);

}  // namespace plotforge::recommendation
