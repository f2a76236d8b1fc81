// The trainer every generator uses: AdamW with decoupled weight decay (none
// on norms and embeddings), linear warmup then cosine decay, global-norm
// gradient clipping, gradient accumulation, periodic evaluation, atomic
// checkpoints with exact resume, metrics.jsonl + TensorBoard logs and a
// progress line.
//
// Run directory:
//   DIR/tokenizer.model          copied from the corpus, for generation
//   DIR/checkpoints/step-*.pt    the last keep_last, plus best.pt
//   DIR/metrics.jsonl            one object per logged step and per eval
//   DIR/events.out.tfevents.*    the same scalars for TensorBoard
//
// Under a launcher (training/distributed.h) every rank trains on its slice
// of each global batch, gradients are averaged across ranks, and rank 0
// alone writes the run directory; all ranks resume from its checkpoints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "datasets/corpus.h"
#include "datasets/loader.h"
#include "models/transformer.h"
#include "training/distributed.h"
#include "training/objective.h"

namespace plotforge {

struct TrainOptions {
  std::string data;  // corpus.h5
  std::string out;   // run directory
  TransformerConfig model;  // vocab_size comes from the corpus

  int batch_size = 12;  // sequences per micro-batch
  int grad_accum = 1;
  long max_steps = 2000;
  long stop_after = 0;  // end the run after this step with a checkpoint, as a time-limited job; 0: at max_steps
  double lr = 1e-3, min_lr = 1e-4;
  long warmup_steps = 100;
  long lr_decay_steps = 0;  // 0: max_steps
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.99, adam_eps = 1e-8;
  double grad_clip = 1.0;  // 0 disables clipping

  int eval_every = 250, eval_batches = 20;
  int log_every = 1;
  int checkpoint_every = 250, keep_last = 3;
  std::uint64_t seed = 1337;
  bool resume = false;
  std::string device = "auto";  // auto | cpu | cuda
  double peak_flops = 0;        // per-device peak for MFU; 0: look up the device's name
  bool progress = true;
  double dist_timeout_s = 300;                // a rank that dies or hangs fails the others after this
  std::size_t bucket_bytes = 25u << 20;       // gradient all-reduce bucket size
  bool zero1 = false;                         // shard AdamW's state across ranks (training/zero.h)
  std::string config_ini;  // resolved options, stored in checkpoints
};

struct TrainResult {
  long steps = 0;
  double last_loss = 0, last_val_loss = 0, best_val_loss = 0;
  double tokens_per_s = 0, seconds = 0;  // tokens_per_s: the objective's units per second
  Scalars last_eval;                      // the last validation pass's scalars
  long first_step = 0;                    // where this invocation started (a resumed run's step)
};

// ids [rows * cols] int32 -> [rows, cols] int64 on `device`.
torch::Tensor token_tensor(const std::vector<std::int32_t>& ids, int rows, int cols, const c10::Device& device);

// The Transformer: next-token cross-entropy on token windows.
TrainResult train(const TrainOptions& options);

// What every objective is built from: the corpus, the launch (rank, world
// size), the data-parallel group when there is more than one rank, and the
// device. begin_training() validates the options, reads the corpus, joins
// the group, creates the run directory with the tokenizer, and seeds torch.
struct TrainContext {
  std::shared_ptr<const CorpusData> corpus;
  LaunchEnv env;
  std::shared_ptr<DataParallel> dp;  // null when training alone
  c10::Device device{c10::kCPU};
  bool cuda() const { return device.is_cuda(); }
  bool rank0() const { return env.rank == 0; }
  // Loader options for this rank: the run's seed and micro-batch; validation
  // loaders make batches on demand.
  LoaderOptions loader(Split split) const;
  int batch_size = 0;
  std::uint64_t seed = 0;
};

TrainContext begin_training(const TrainOptions& options);
// The training loop shared by every generator (see objective.h).
TrainResult run_training(TrainContext& context, Objective& objective, const TrainOptions& options);

}  // namespace plotforge
