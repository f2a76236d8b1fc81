// What a generator hands the trainer (training/trainer.h): its model, the
// loss of one micro-batch, a validation pass and its data position. The
// trainer owns everything else (the optimizer and schedule, clipping,
// accumulation, data parallelism, checkpoints and exact resume, logs and
// progress), so every generator trains the same way.
//
// Objectives, one file each: the Transformer's next-token loss
// (transformer_objective.h), the VAE's ELBO (vae_objective.h), the latent
// GAN's generator loss, which runs its critic's updates itself
// (gan_objective.h), and the scene classifier (classifier_objective.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

namespace torch::optim {
class Optimizer;
}

namespace plotforge {

using Scalars = std::map<std::string, double>;

class Objective {
 public:
  virtual ~Objective() = default;

  // "transformer", "vae", "gan" or "classifier": stored in checkpoints, so a
  // checkpoint is never loaded into the wrong kind of model.
  virtual std::string kind() const = 0;
  // The trained module: its parameters get the trainer's AdamW and are saved.
  virtual torch::nn::Module& model() = 0;
  // The kind's own entries of the configuration checkpoints keep
  // (training/checkpoint.h): its settings ({"vae": ...}) and what loading
  // the model needs besides ({"genres": [...]}).
  virtual nlohmann::json checkpoint_config() const { return nlohmann::json::object(); }
  // One line for the start of training: what is trained.
  virtual std::string describe() const = 0;
  // Tokens (or samples, for the GAN) one micro-batch consumes, for the rate.
  virtual long units_per_micro_batch() const = 0;
  virtual std::string unit() const { return "tok"; }
  // Matmul FLOPs per unit for MFU (0: not reported).
  virtual double flops_per_unit() const { return 0; }

  // The loss of the next micro-batch, to backpropagate; scalars to log go in
  // `logs` (averaged over micro-batches). `step` is the optimizer step
  // (0-based), for schedules such as KL annealing.
  virtual torch::Tensor loss(long step, Scalars* logs) = 0;
  // A validation pass on this rank's slice. Must set "val_loss" (lower is
  // better: it picks best.pt); it is averaged across ranks, the other
  // scalars are rank 0's.
  virtual Scalars evaluate() = 0;

  virtual std::uint64_t data_position() const = 0;
  virtual void set_data_position(std::uint64_t position) = 0;

  // A second module with its own optimizer that the objective steps itself
  // (the GAN's critic): saved and restored with the checkpoint.
  virtual torch::nn::Module* aux_model() { return nullptr; }
  virtual torch::optim::Optimizer* aux_optimizer() { return nullptr; }

  // Set by the trainer under data parallelism: averages gradients of the
  // given tensors across ranks (for the aux model's own updates).
  std::function<void(const std::vector<torch::Tensor>&)> average_gradients;
};

}  // namespace plotforge
