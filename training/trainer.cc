#include "training/trainer.h"

#include <unistd.h>

#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "datasets/atomic_file.h"
#include "datasets/corpus.h"
#include "datasets/error.h"
#include "datasets/loader.h"
#include "models/torch_compat.h"
#include "training/checkpoint.h"
#include "training/device_info.h"
#include "training/distributed.h"
#include "training/optimizer.h"
#include "training/schedule.h"
#include "training/tensorboard.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

void check_options(const TrainOptions& o) {
  auto bad = [](const std::string& field, const std::string& why) { return InputError(field + ": " + why); };
  if (o.batch_size < 1) throw bad("batch-size", "must be at least 1");
  if (o.grad_accum < 1) throw bad("grad-accum", "must be at least 1");
  if (o.max_steps < 1) throw bad("max-steps", "must be at least 1");
  if (!(o.lr > 0) || o.min_lr < 0 || o.min_lr > o.lr) throw bad("lr", "need 0 <= min-lr <= lr and lr > 0");
  if (o.warmup_steps < 0) throw bad("warmup-steps", "must not be negative");
  if (o.weight_decay < 0) throw bad("weight-decay", "must not be negative");
  if (o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1) throw bad("beta1/beta2", "must be in [0, 1)");
  if (o.grad_clip < 0) throw bad("grad-clip", "must not be negative");
  if (o.eval_every < 1 || o.eval_batches < 1) throw bad("eval-every/eval-batches", "must be at least 1");
  if (o.log_every < 1) throw bad("log-every", "must be at least 1");
  if (o.checkpoint_every < 1 || o.keep_last < 1) throw bad("checkpoint-every/keep-last", "must be at least 1");
  if (o.device != "auto" && o.device != "cpu" && o.device != "cuda") throw bad("device", "one of auto, cpu, cuda");
}

torch::Device pick_device(const std::string& want) {
  const bool cuda = torch::cuda::is_available();
  if (want == "cuda" && !cuda) {
    throw InputError("--device cuda: no CUDA device is usable (this libtorch has no CUDA, or no GPU is visible); "
                     "use --device cpu");
  }
  return (want == "cuda" || (want == "auto" && cuda)) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

// Drops metrics.jsonl lines past `step` (a resumed run logs them again) and
// any line a kill cut short.
void truncate_metrics(const std::string& path, long step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.at("step").get<long>() <= step) kept += line + "\n";
    } catch (const std::exception&) {
    }
  }
  in.close();
  write_file_atomic(path, kept);
}

torch::Tensor to_tensor(const std::vector<std::int32_t>& v, int rows, int cols, const torch::Device& device) {
  return torch::from_blob(const_cast<std::int32_t*>(v.data()), {rows, cols}, torch::kInt32)
      .to(torch::kInt64)
      .to(device);
}

}  // namespace

TrainResult train(const TrainOptions& opt) {
  check_options(opt);
  auto corpus = std::make_shared<CorpusData>(read_corpus(opt.data));
  TransformerConfig mc = opt.model;
  mc.vocab_size = corpus->vocab_size;
  mc.validate();

  const LaunchEnv env = launch_env();
  std::unique_ptr<DataParallel> dp;
  if (env.world_size > 1) {
    dp = std::make_unique<DataParallel>(
        env, std::chrono::milliseconds(static_cast<long long>(opt.dist_timeout_s * 1000)));
  }
  const bool rank0 = env.rank == 0;
  auto collective_failed = [&](const std::exception& e) {
    const std::string what = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return InputError("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                      ": a collective failed: " + dp->diagnose_failure() + " (" + what.substr(0, 200) +
                      "); every rank stops");
  };

  fs::create_directories(opt.out);
  const std::string tok_path = (fs::path(opt.out) / "tokenizer.model").string();
  if (rank0) write_file_atomic(tok_path, corpus->tokenizer_model);

  const torch::Device device = pick_device(opt.device);
  const bool cuda = device.is_cuda();
  if (!cuda) {
    // Bit-for-bit reproducible CPU runs: exact resume depends on it.
    at::globalContext().setDeterministicAlgorithms(true, false);
  }
  torch::manual_seed(opt.seed);
  Transformer model(mc);
  model->to(device);

  AdamWSettings adamw{opt.lr, opt.beta1, opt.beta2, opt.adam_eps, opt.weight_decay};
  auto optimizer_owner = make_adamw(model, adamw);
  torch::optim::AdamW& optimizer = *optimizer_owner;

  const int context = mc.context;
  LoaderOptions lo;
  lo.batch_size = opt.batch_size;
  lo.seed = opt.seed;
  lo.rank = env.rank;
  lo.world_size = env.world_size;
  TokenWindowLoader train_loader(corpus, context, lo);
  // Validation batches are global batches too: each rank evaluates its slice
  // of the same eval_batches, so the validation set does not depend on the
  // world size.
  lo.split = Split::kValidation;
  lo.prefetch = 0;
  TokenWindowLoader val_loader(corpus, context, lo);

  CheckpointState state;
  state.model = mc;
  state.tokenizer_sha256 = corpus->tokenizer_sha256;
  state.config_ini = opt.config_ini;
  const std::string metrics_path = (fs::path(opt.out) / "metrics.jsonl").string();
  if (opt.resume) {
    bool loaded = false;
    for (const auto& path : list_checkpoints(opt.out)) {
      try {
        const CheckpointState peek = load_checkpoint(path);
        if (peek.tokenizer_sha256 != corpus->tokenizer_sha256) {
          throw InputError(path + ": trained with tokenizer sha256 " + peek.tokenizer_sha256.substr(0, 12) +
                           "…, but " + opt.data + " uses " + corpus->tokenizer_sha256.substr(0, 12) +
                           "…; resume with the corpus it was trained on");
        }
        state = load_checkpoint(path, &model, &optimizer);
        state.config_ini = opt.config_ini;
        loaded = true;
        std::fprintf(stderr, "resuming from %s (step %ld)\n", path.c_str(), state.step);
        break;
      } catch (const InputError& e) {
        if (std::string(e.what()).find("tokenizer sha256") != std::string::npos) throw;
        std::fprintf(stderr, "warning: skipping %s\n", e.what());
      }
    }
    if (!loaded) std::fprintf(stderr, "no valid checkpoint in %s: starting from step 0\n", opt.out.c_str());
    train_loader.set_position(state.loader_position);
    if (rank0) truncate_metrics(metrics_path, state.step);
  } else if (rank0) {
    std::error_code ec;
    fs::remove(metrics_path, ec);
  }

  // Logs are rank 0's; the other ranks write nothing.
  std::FILE* metrics = nullptr;
  std::unique_ptr<EventWriter> events;
  if (rank0) {
    metrics = std::fopen(metrics_path.c_str(), "a");
    if (!metrics) throw InputError(metrics_path + ": cannot open for writing");
    events = std::make_unique<EventWriter>(opt.out);
  }

  const long tokens_per_step = static_cast<long>(opt.batch_size) * opt.grad_accum * context * env.world_size;
  const double peak = opt.peak_flops > 0 ? opt.peak_flops : (cuda ? peak_bf16_flops(cuda_device_name()) : 0.0);
  if (rank0) {
    std::fprintf(stderr,
                 "model: %.2fM parameters (%d layers, %d heads, %d kv heads, width %d, context %d) on %s\n"
                 "batch: %d sequences x %d accumulation x %d ranks x %d tokens = %ld tokens per step; %ld steps\n",
                 model->parameter_count() / 1e6, mc.n_layers, mc.n_heads, mc.kv_heads(), mc.dim, context,
                 cuda ? "cuda (bf16 autocast)" : "cpu (deterministic)", opt.batch_size, opt.grad_accum,
                 env.world_size, context, tokens_per_step, opt.max_steps);
    if (dp) std::fprintf(stderr, "data parallel: %d ranks via %s, Gloo, rendezvous %s:%d\n", env.world_size,
                         env.launcher.c_str(), env.master_addr.c_str(), env.master_port);
  }

  LrSchedule schedule{opt.lr, opt.min_lr, opt.warmup_steps, opt.lr_decay_steps > 0 ? opt.lr_decay_steps : opt.max_steps};
  const auto vocab = mc.vocab_size;

  // Mean next-token cross-entropy of one batch (fp32 even under autocast).
  auto batch_loss = [&](const TokenBatch& b) {
    const auto logits = model->forward(to_tensor(b.inputs, b.batch, b.context, device));
    return torch::nn::functional::cross_entropy(logits.view({-1, vocab}).to(torch::kFloat32),
                                                to_tensor(b.targets, b.batch, b.context, device).view(-1));
  };

  auto evaluate = [&]() {
    torch::NoGradGuard no_grad;
    model->eval();
    compat::CudaBf16Autocast autocast(cuda);
    double total = 0;
    for (int i = 0; i < opt.eval_batches; ++i) {
      total += batch_loss(val_loader.make(static_cast<std::uint64_t>(i))).item<double>();
    }
    model->train();
    if (dp) {
      try {
        total = dp->sum(total) / env.world_size;
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    }
    return total / opt.eval_batches;
  };

  auto save = [&](long step, const std::string& path) {
    state.step = step;
    state.loader_position = train_loader.position();
    if (rank0) save_checkpoint(path, model, &optimizer, state);
  };

  const bool tty = isatty(STDERR_FILENO);
  const long print_every = tty ? opt.log_every : std::max<long>(1, opt.max_steps / 20);
  const auto t_start = std::chrono::steady_clock::now();
  const double elapsed_before = state.elapsed_s;
  auto elapsed = [&] {
    return elapsed_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };
  TrainResult result;
  result.best_val_loss = state.best_val_loss;
  auto window_start = std::chrono::steady_clock::now();
  long window_tokens = 0;
  double tokens_per_s = 0;
  const long first_step = state.step;

  for (long step = first_step; step < opt.max_steps; ++step) {
    const double lr = schedule.at(step);
    set_learning_rate(optimizer, lr);

    double loss_sum = 0;
    try {
      for (int micro = 0; micro < opt.grad_accum; ++micro) {
        torch::Tensor loss;
        {
          compat::CudaBf16Autocast autocast(cuda);
          loss = batch_loss(train_loader.next());
        }
        (loss / opt.grad_accum).backward();
        loss_sum += loss.item<double>();
      }
    } catch (const c10::Error& e) {
      if (std::string(e.what()).find("out of memory") != std::string::npos) {
        throw InputError(std::string("out of memory on ") + (cuda ? "the GPU" : "the CPU") +
                         " at step " + std::to_string(step) + ": lower --batch-size (and raise --grad-accum to keep "
                         "the tokens per step) or use a smaller model");
      }
      throw;
    }
    if (dp) {
      try {
        dp->average_gradients(model->parameters(), opt.bucket_bytes);
        loss_sum = dp->sum(loss_sum) / env.world_size;
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    }
    double grad_norm = 0;
    if (opt.grad_clip > 0) {
      grad_norm = torch::nn::utils::clip_grad_norm_(model->parameters(), opt.grad_clip);
    } else {
      double sq = 0;
      for (const auto& p : model->parameters()) {
        if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
      }
      grad_norm = std::sqrt(sq);
    }
    optimizer.step();
    optimizer.zero_grad();

    const long done = step + 1;
    const double loss = loss_sum / opt.grad_accum;
    if (!std::isfinite(loss)) {
      throw InputError("loss became " + std::to_string(loss) + " at step " + std::to_string(done) +
                       ": lower --lr or raise --warmup-steps");
    }
    result.last_loss = loss;
    window_tokens += tokens_per_step;
    if (rank0 && (done % opt.log_every == 0 || done == opt.max_steps)) {
      const double window_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      tokens_per_s = window_s > 0 ? window_tokens / window_s : 0;
      window_start = std::chrono::steady_clock::now();
      window_tokens = 0;
      nlohmann::json j = {{"step", done},           {"loss", loss},
                          {"lr", lr},               {"grad_norm", grad_norm},
                          {"tokens_per_s", tokens_per_s}, {"elapsed_s", elapsed()}};
      const double mfu = peak > 0 ? tokens_per_s * mc.train_flops_per_token() / peak : -1;
      if (mfu >= 0) j["mfu"] = mfu;
      std::fprintf(metrics, "%s\n", j.dump().c_str());
      std::fflush(metrics);
      events->add_scalar("train/loss", static_cast<float>(loss), done);
      events->add_scalar("train/lr", static_cast<float>(lr), done);
      events->add_scalar("train/grad_norm", static_cast<float>(grad_norm), done);
      events->add_scalar("train/tokens_per_s", static_cast<float>(tokens_per_s), done);
      if (done % print_every == 0 || done == opt.max_steps) {
        const double eta = tokens_per_s > 0 ? (opt.max_steps - done) * tokens_per_step / tokens_per_s : 0;
        char mfu_text[32] = "";
        if (mfu >= 0) std::snprintf(mfu_text, sizeof mfu_text, " | MFU %.1f%%", 100 * mfu);
        if (opt.progress) {
          std::fprintf(stderr, "%sstep %ld/%ld | loss %.4f | lr %.2e | %.0f tok/s%s | ETA %s%s", tty ? "\r" : "", done,
                       opt.max_steps, loss, lr, tokens_per_s, mfu_text, format_duration(eta).c_str(),
                       tty ? "   " : "\n");
        }
      }
    }
    if (done % opt.eval_every == 0 || done == opt.max_steps) {
      const double val = evaluate();
      result.last_val_loss = val;
      nlohmann::json j = {{"step", done}, {"val_loss", val}, {"val_ppl", std::exp(val)}};
      if (rank0) {
        std::fprintf(metrics, "%s\n", j.dump().c_str());
        std::fflush(metrics);
        events->add_scalar("val/loss", static_cast<float>(val), done);
        events->add_scalar("val/ppl", static_cast<float>(std::exp(val)), done);
      }
      if (rank0 && opt.progress) std::fprintf(stderr, "%sstep %ld: val loss %.4f, ppl %.2f\n", tty ? "\n" : "", done, val, std::exp(val));
      if (val < state.best_val_loss) {
        state.best_val_loss = val;
        state.elapsed_s = elapsed();
        save(done, best_checkpoint_path(opt.out));
      }
    }
    if (events) events->flush();
    if (done % opt.checkpoint_every == 0 || done == opt.max_steps) {
      state.elapsed_s = elapsed();
      save(done, checkpoint_path(opt.out, done));
      if (rank0) {
        const auto all = list_checkpoints(opt.out);
        for (std::size_t i = static_cast<std::size_t>(opt.keep_last); i < all.size(); ++i) fs::remove(all[i]);
      }
    }
  }
  if (metrics) std::fclose(metrics);
  result.steps = opt.max_steps;
  result.best_val_loss = state.best_val_loss;
  result.seconds = elapsed();
  result.tokens_per_s = tokens_per_s;
  return result;
}

}  // namespace plotforge
