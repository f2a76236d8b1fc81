// The trainer's and the generators' settings, each field listed once
// (base/settings.h): the `plotforge train` options and INI keys (training
// keys at the top of a file, [model], [vae] and [gan] sections), the JSON
// kept in every checkpoint, and, for the VAE, the plotforge section of an
// exported bundle's config.json that the runtime reads. No libtorch here:
// the runtime includes this header.
#pragma once

#include <cstdint>
#include <string>

#include "base/settings.h"
#include "models/config.h"

namespace plotforge {

struct TrainOptions {
  std::string data;         // corpus.h5 (an operand of the command, not a field)
  std::string out;          // run directory (likewise)
  TransformerConfig model;  // [model]; vocab_size comes from the corpus
  LoraConfig lora;          // [lora]; rank 0: every weight trains
  // A run, checkpoint or bundle whose weights start the Transformer
  // (training/base_model.h); its shape replaces [model]. Empty: random.
  std::string init_from;

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
  bool quiet = false;
  double dist_timeout_s = 300;  // a rank that dies or hangs fails the others after this
  double bucket_mb = 25;        // gradient all-reduce bucket size (MiB)
  bool zero1 = false;           // shard AdamW's state across ranks (training/zero.h)
  // A Transformer on the CPU without a launcher: data-parallel processes of
  // one thread each that `plotforge train` starts itself, --batch-size split
  // among them (training/cpu_ranks.h). 0: auto, one per core as far as the
  // batch divides evenly (about 15% faster than one process on two threads
  // on the 2-core VM, docs/perf/training-cpu.md); 1: one process on every
  // core. Memory grows with the ranks (each holds the model and AdamW).
  int cpu_ranks = 0;
  // How the Transformer's linear maps multiply on the CPU
  // (models/projection.h): "fp32"; "bf16" products with float32 master
  // weights (oneDNN: on the AMX VM a shakespeare-char step took 27% less
  // time, validation loss 1.658 against fp32's 1.651,
  // docs/perf/training-cpu.md); "auto": bf16 where the CPU has AMX, fp32
  // elsewhere (without AMX oneDNN 2.6's bf16 is slower than OpenBLAS's fp32).
  std::string cpu_matmul = "auto";

  template <class V>
  void fields(V&& v) {
    v("resume", resume, "continue from the newest valid checkpoint in --out", flag());
    v("init-from", init_from, "fine-tune: start from this run, checkpoint or bundle (its shape replaces [model])");
    v("device", device, "auto | cpu | cuda");
    v("seed", seed, "random seed (init and data order)");
    v("batch-size", batch_size, "sequences per micro-batch");
    v("grad-accum", grad_accum, "micro-batches per optimizer step");
    v("max-steps", max_steps, "optimizer steps");
    v("stop-after", stop_after, "stop after this step with a checkpoint (time-limited jobs); --resume continues");
    v("lr", lr, "peak learning rate");
    v("min-lr", min_lr, "learning-rate floor after cosine decay");
    v("warmup-steps", warmup_steps, "linear warmup steps");
    v("lr-decay-steps", lr_decay_steps, "cosine decay length (0: max-steps)");
    v("weight-decay", weight_decay, "AdamW decoupled weight decay (matrices only)");
    v("beta1", beta1, "AdamW beta1");
    v("beta2", beta2, "AdamW beta2");
    v("adam-eps", adam_eps, "AdamW epsilon");
    v("grad-clip", grad_clip, "global gradient-norm clip (0: off)");
    v("eval-every", eval_every, "steps between validation passes");
    v("eval-batches", eval_batches, "validation batches per pass");
    v("log-every", log_every, "steps between metrics lines");
    v("checkpoint-every", checkpoint_every, "steps between checkpoints");
    v("keep-last", keep_last, "checkpoints kept (plus best.pt)");
    v("peak-flops", peak_flops, "device peak FLOP/s for MFU (0: by device name)");
    v("dist-timeout", dist_timeout_s, "seconds before a dead or hung rank fails the others");
    v("zero1", zero1, "data parallel: shard AdamW's state across ranks (ZeRO stage 1: reduce-scatter, then all-gather)",
      flag());
    v("bucket-mb", bucket_mb, "data parallel: gradient all-reduce bucket size (MiB)");
    v("cpu-ranks", cpu_ranks,
      "CPU, Transformer: data-parallel processes of one thread each, the batch split among them (0: auto, one "
      "per core as far as the batch divides; 1: one process)");
    v("cpu-matmul", cpu_matmul,
      "CPU: the linear maps' products, auto | fp32 | bf16 (auto: bf16 where the CPU has AMX; weights and optimizer "
      "stay fp32)");
    v("quiet", quiet, "no progress lines", flag());
  }
  std::size_t bucket_bytes() const { return static_cast<std::size_t>(bucket_mb * 1048576.0); }
};

// The VAE (training/vae_objective.h describes the objective).
struct VAESettings {
  int latent = 32;
  int encoder_layers = 0;  // 0: the decoder's n_layers
  double beta_max = 1.0;
  int cycles = 4;
  double zero_ratio = 0.5;   // pure-autoencoder share of each cycle
  double ramp_ratio = 0.25;  // linear-ramp share of each cycle
  double free_bits = 0.5;    // per-dimension KL floor (nats)
  double mu_scale = 0.6;     // BN-VAE's scale of the normalized means (0: off; models/vae.h)
  double offset_init = 0;    // std of the embedding offset's initial weights (0: zero; models/vae.h)
  // A Transformer run (same tokenizer and model shape) whose weights start
  // the decoder, as Optimus starts from GPT-2; empty: from scratch.
  std::string init_decoder;
  // Train on windows of long scenes at varying offsets (LoaderOptions::
  // scene_windows), not only their first context tokens.
  bool scene_windows = true;

  template <class V>
  void fields(V&& v) {
    v("latent", latent, "VAE latent dimensions");
    v("encoder_layers", encoder_layers, "VAE encoder blocks (0: model.n_layers)");
    v("beta_max", beta_max, "KL weight after each cycle's ramp");
    v("cycles", cycles, "cyclical KL annealing: cycles over the run");
    v("zero_ratio", zero_ratio, "share of each cycle with beta = 0 (autoencoder)");
    v("ramp_ratio", ramp_ratio, "share of each cycle ramping beta up");
    v("free_bits", free_bits, "per-dimension KL floor lambda (nats)");
    v("mu_scale", mu_scale, "BN-VAE: scale of the batch-normalized means (0: off)");
    v("offset_init", offset_init, "std of the latent embedding offset's initial weights (0: zero)");
    v("init_decoder", init_decoder, "Transformer run to start the decoder from (as Optimus starts from GPT-2)");
    v("scene_windows", scene_windows, "train on windows of long scenes at varying offsets, not only their starts");
  }
  void validate() const;  // throws InputError naming the field (vae.KEY)
};

// The latent GAN (training/gan_objective.h); its network's shape beyond
// these is GANConfig (models/config.h).
struct GANSettings {
  std::string vae;  // the VAE run directory or checkpoint
  int noise = 32, hidden = 256, layers = 3;
  bool condition_on_genre = true;
  int n_critic = 5;
  double gp = 10.0;

  template <class V>
  void fields(V&& v) {
    v("vae", vae, "VAE run directory whose latent space the GAN learns");
    v("noise", noise, "generator noise dimensions");
    v("hidden", hidden, "MLP width");
    v("layers", layers, "linear layers per MLP");
    v("condition_on_genre", condition_on_genre, "genre-conditioned generator and critic");
    v("n_critic", n_critic, "critic steps per generator step");
    v("gp", gp, "gradient-penalty weight");
  }
  void validate() const;  // throws InputError naming the field (gan.KEY)
};

}  // namespace plotforge
