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
#include "models/projection.h"
#include "training/distributed.h"
#include "training/objective.h"
#include "training/settings.h"

namespace plotforge {

struct TrainResult {
  long steps = 0;
  double last_loss = 0, last_val_loss = 0, best_val_loss = 0;
  double tokens_per_s = 0, seconds = 0;  // tokens_per_s: the objective's units per second
  Scalars last_eval;                     // the last validation pass's scalars
  long first_step = 0;                   // where this invocation started (a resumed run's step)
};

// What every objective is built from: the corpus, the launch (rank, world
// size), the data-parallel group when there is more than one rank, and the
// device. begin_training() validates the options, reads the corpus, joins
// the group, creates the run directory with the tokenizer, and seeds torch.
struct TrainContext {
  std::shared_ptr<const CorpusData> corpus;
  LaunchEnv env;
  std::shared_ptr<DataParallel> dp;  // null when training alone
  c10::Device device{c10::kCPU};
  // On the CPU: how the linear maps multiply, and why (--cpu-matmul).
  CpuMatmulChoice cpu_matmul{CpuMatmul::kFloat32, ""};
  bool cuda() const { return device.is_cuda(); }
  bool rank0() const { return env.rank == 0; }
  // Loader options for this rank: the run's seed and micro-batch; validation
  // loaders make batches on demand.
  LoaderOptions loader(Split split) const;
  int batch_size = 0;
  std::uint64_t seed = 0;
};

TrainContext begin_training(const TrainOptions& options);
// The training loop shared by every generator (see objective.h): resume,
// then per step: the step itself, its log line, an evaluation and a
// checkpoint when due.
TrainResult run_training(TrainContext& context, Objective& objective, const TrainOptions& options);

}  // namespace plotforge
