// plotforge train: any generator, its options declared by the settings
// structs (training/settings.h, models/config.h).
#include <cstdio>
#include <iostream>

#include <torch/cuda.h>

#include "base/cpu_features.h"
#include "base/error.h"
#include "base/heap.h"
#include "models/projection.h"
#include "programs/common/blas_kernels.h"
#include "programs/plotforge/commands.h"
#include "training/classifier_objective.h"
#include "training/cpu_ranks.h"
#include "training/distributed.h"
#include "training/gan_objective.h"
#include "training/settings.h"
#include "training/transformer_objective.h"
#include "training/vae_objective.h"

namespace plotforge::programs {

namespace {

// `args` with --batch-size set to `batch` (the command line wins over the
// INI file, so a rank's slice of the batch holds whatever set the total).
Args with_batch(const Args& args, int batch) {
  Args out;
  bool set = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--batch-size" && i + 1 < args.size()) {
      out.push_back(args[i]);
      out.push_back(std::to_string(batch));
      ++i;
      set = true;
    } else if (args[i].rfind("--batch-size=", 0) == 0) {
      out.push_back("--batch-size=" + std::to_string(batch));
      set = true;
    } else {
      out.push_back(args[i]);
    }
  }
  if (!set) out.insert(out.end(), {"--batch-size", std::to_string(batch)});
  return out;
}

// A CPU run started without a launcher: as data-parallel ranks of one
// thread each when --cpu-ranks gives more than one (training/cpu_ranks.h).
// Returns their exit status, or -1 to train in this process.
int cpu_ranks(const TrainOptions& t, const std::string& kind, const Args& args) {
  const bool cpu = t.device == "cpu" || (t.device == "auto" && !torch::cuda::is_available());
  if (!cpu || kind != "transformer") {
    if (t.cpu_ranks > 1)
      throw InputError(
          "--cpu-ranks: for Transformer runs on the CPU only (leave it at 0 or 1 here; torchrun or srun start "
          "ranks for the other generators and for GPUs, docs/distributed.md)");
    return -1;
  }
  const CpuRanksChoice c = choose_cpu_ranks(t.cpu_ranks, t.batch_size, usable_cores());
  if (c.ranks <= 1) return -1;
  if (!t.quiet) {
    std::fprintf(stderr, "cpu ranks: %d data-parallel processes of one thread each (%s; --cpu-ranks 1: one process)\n",
                 c.ranks, c.why.c_str());
  }
  Args child = {"train"};
  const Args rest = with_batch(args, t.batch_size / c.ranks);
  child.insert(child.end(), rest.begin(), rest.end());
  return run_cpu_ranks(child, c.ranks);
}

}  // namespace

int cmd_train(const Args& args) {
  po::options_description o("plotforge train");
  o.add_options()("data", po::value<std::string>()->required(), "corpus.h5 from 'plotforge prepare'")(
      "out", po::value<std::string>()->required(), "run directory (checkpoints, logs)")(
      "kind", po::value<std::string>()->default_value("transformer"), "transformer | vae | gan | classifier");
  TrainOptions t;
  VAESettings v;
  GANSettings g;
  add_fields(o, t);
  add_fields(o, t.model, "model.");
  add_fields(o, t.lora, "lora.");
  add_fields(o, v, "vae.");
  add_fields(o, g, "gan.");
  po::variables_map vm;
  if (!parse_options("usage: plotforge train --config configs/NAME.ini --data corpus.h5 --out DIR [options]\n"
                     "Any option can also be set in the INI file; the command line wins. --kind picks the generator:\n"
                     "the Transformer (default), the VAE ([vae] keys), the latent GAN ([gan] keys, gan.vae names a\n"
                     "trained VAE) or the scene classifier (used by 'plotforge eval').",
                     o, args, &vm)) {
    return 0;
  }
  t.data = vm["data"].as<std::string>();
  t.out = vm["out"].as<std::string>();
  read_fields(vm, &t);
  read_fields(vm, &t.model, "model.");
  read_fields(vm, &t.lora, "lora.");
  read_fields(vm, &v, "vae.");
  read_fields(vm, &g, "gan.");
  if (!(t.bucket_mb > 0)) throw InputError("--bucket-mb: must be positive");
  choose_cpu_matmul(t.cpu_matmul, cpu_features(), libtorch_has_onednn());  // a bad value fails here, not in each rank
  const std::string kind = vm["kind"].as<std::string>();
  if (kind != "transformer" && (!t.init_from.empty() || t.lora.rank > 0)) {
    throw InputError("--init-from and --lora.* fine-tune the Transformer; --kind " + kind + " takes neither");
  }
  if (launch_env().launcher == "none") {
    const int ranks = cpu_ranks(t, kind, args);
    if (ranks >= 0) return ranks;
  }
  if (!t.quiet && launch_env().rank == 0) std::fprintf(stderr, "blas: %s\n", blas_kernels_note().c_str());
  keep_freed_memory();  // a step's buffers are reused, not faulted in again (base/heap.h)
  TrainResult r;
  if (kind == "transformer") {
    r = train(t);
  } else if (kind == "vae") {
    r = train_vae(t, v);
  } else if (kind == "gan") {
    r = train_gan(t, g);
  } else if (kind == "classifier") {
    r = train_classifier(t);
  } else {
    throw InputError("--kind: '" + kind + "' is not transformer, vae, gan or classifier");
  }
  if (launch_env().rank != 0) return 0;  // rank 0 reports for the run
  if (r.first_step >= r.steps) {
    std::cout << t.out << " is already at step " << r.first_step << " of " << r.steps
              << ": nothing to train (raise --max-steps to continue it)\n";
    return 0;
  }
  std::cout << "trained " << kind << " " << r.steps << " steps in " << r.seconds << " s: loss " << r.last_loss
            << ", val loss " << r.last_val_loss << " (best " << r.best_val_loss << ")";
  for (const auto& [k, val] : r.last_eval) {
    if (k != "val_loss") std::cout << ", " << k << " " << val;
  }
  std::cout << "\n";
  return 0;
}

}  // namespace plotforge::programs
