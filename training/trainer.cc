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
#include "training/zero.h"

namespace plotforge {

namespace fs = std::filesystem;

namespace {

void check_options(const TrainOptions& o) {
  auto bad = [](const std::string& field, const std::string& why) { return InputError(field + ": " + why); };
  if (o.batch_size < 1) throw bad("batch-size", "must be at least 1");
  if (o.grad_accum < 1) throw bad("grad-accum", "must be at least 1");
  if (o.max_steps < 1) throw bad("max-steps", "must be at least 1");
  if (o.stop_after < 0) throw bad("stop-after", "must not be negative");
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

// Each rank of a launcher's world takes the GPU of its LOCAL_RANK.
torch::Device pick_device(const std::string& want, int local_rank) {
  const bool cuda = torch::cuda::is_available();
  if (want == "cuda" && !cuda) {
    throw InputError("--device cuda: no CUDA device is usable (this libtorch has no CUDA, or no GPU is visible); "
                     "use --device cpu");
  }
  if (!(want == "cuda" || (want == "auto" && cuda))) return torch::Device(torch::kCPU);
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (local_rank >= count) {
    throw InputError("LOCAL_RANK " + std::to_string(local_rank) + " has no GPU: only " + std::to_string(count) +
                     " are visible; start at most that many processes per node (--nproc_per_node)");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
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

// Next-token cross-entropy on token windows.
class TransformerObjective : public Objective {
 public:
  TransformerObjective(TrainContext& ctx, const TransformerConfig& mc)
      : ctx_(ctx), model_(mc), train_(ctx.corpus, mc.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, mc.context, ctx.loader(Split::kValidation)) {
    model_->to(ctx.device);
  }
  std::string kind() const override { return "transformer"; }
  torch::nn::Module& model() override { return *model_; }
  std::string describe() const override {
    const auto& mc = model_->config();
    char buf[200];
    std::snprintf(buf, sizeof buf, "Transformer: %.2fM parameters (%d layers, %d heads, %d kv heads, width %d, context %d)",
                  model_->parameter_count() / 1e6, mc.n_layers, mc.n_heads, mc.kv_heads(), mc.dim, mc.context);
    return buf;
  }
  long units_per_micro_batch() const override { return static_cast<long>(ctx_.batch_size) * model_->config().context; }
  double flops_per_unit() const override { return model_->config().train_flops_per_token(); }
  torch::Tensor loss(long, Scalars*) override { return batch_loss(train_.next()); }
  Scalars evaluate() override {
    double total = 0;
    for (int i = 0; i < eval_batches; ++i) total += batch_loss(val_.make(static_cast<std::uint64_t>(i))).item<double>();
    return {{"val_loss", total / eval_batches}};
  }
  std::uint64_t data_position() const override { return train_.position(); }
  void set_data_position(std::uint64_t p) override { train_.set_position(p); }
  Transformer& transformer() { return model_; }
  int eval_batches = 1;

 private:
  // Mean next-token cross-entropy of one batch (fp32 even under autocast).
  torch::Tensor batch_loss(const TokenBatch& b) {
    const auto vocab = model_->config().vocab_size;
    const auto logits = model_->forward(token_tensor(b.inputs, b.batch, b.context, ctx_.device));
    return torch::nn::functional::cross_entropy(logits.view({-1, vocab}).to(torch::kFloat32),
                                                token_tensor(b.targets, b.batch, b.context, ctx_.device).view(-1));
  }
  TrainContext& ctx_;
  Transformer model_;
  TokenWindowLoader train_, val_;
};

}  // namespace

torch::Tensor token_tensor(const std::vector<std::int32_t>& v, int rows, int cols, const torch::Device& device) {
  return torch::from_blob(const_cast<std::int32_t*>(v.data()), {rows, cols}, torch::kInt32)
      .to(torch::kInt64)
      .to(device);
}

LoaderOptions TrainContext::loader(Split split) const {
  LoaderOptions lo;
  lo.split = split;
  lo.batch_size = batch_size;
  lo.seed = seed;
  lo.rank = env.rank;
  lo.world_size = env.world_size;
  // Validation batches are global batches too: each rank evaluates its
  // slice of the same batches, so the validation set does not depend on the
  // world size. They are made on demand.
  if (split == Split::kValidation) lo.prefetch = 0;
  return lo;
}

TrainContext begin_training(const TrainOptions& opt) {
  check_options(opt);
  TrainContext ctx;
  ctx.corpus = std::make_shared<CorpusData>(read_corpus(opt.data));
  ctx.env = launch_env();
  ctx.device = pick_device(opt.device, ctx.env.local_rank);
  // A launcher's world of one still goes through DataParallel, so a single
  // GPU exercises the NCCL path the multi-GPU runs take.
  if (ctx.env.world_size > 1 || ctx.env.launcher != "none") {
    ctx.dp = std::make_shared<DataParallel>(
        ctx.env, std::chrono::milliseconds(static_cast<long long>(opt.dist_timeout_s * 1000)),
        ctx.cuda() ? ctx.device.index() : -1);
  }
  ctx.batch_size = opt.batch_size;
  ctx.seed = opt.seed;
  fs::create_directories(opt.out);
  if (ctx.rank0()) write_file_atomic((fs::path(opt.out) / "tokenizer.model").string(), ctx.corpus->tokenizer_model);
  if (!ctx.cuda()) {
    // Bit-for-bit reproducible CPU runs: exact resume depends on it.
    at::globalContext().setDeterministicAlgorithms(true, false);
  }
  torch::manual_seed(opt.seed);
  return ctx;
}

TrainResult train(const TrainOptions& opt) {
  TrainContext ctx = begin_training(opt);
  TransformerConfig mc = opt.model;
  mc.vocab_size = ctx.corpus->vocab_size;
  mc.validate();
  TransformerObjective objective(ctx, mc);
  objective.eval_batches = opt.eval_batches;
  return run_training(ctx, objective, opt);
}

TrainResult run_training(TrainContext& ctx, Objective& objective, const TrainOptions& opt) {
  const LaunchEnv& env = ctx.env;
  DataParallel* dp = ctx.dp.get();
  const bool rank0 = ctx.rank0();
  const bool cuda = ctx.cuda();
  auto collective_failed = [&](const std::exception& e) {
    const std::string what = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return InputError("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                      ": a collective failed: " + dp->diagnose_failure() + " (" + what.substr(0, 200) +
                      "); every rank stops");
  };
  if (dp) {
    objective.average_gradients = [&](const std::vector<torch::Tensor>& params) {
      try {
        dp->average_gradients(params, opt.bucket_bytes);
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    };
  }
  torch::nn::Module& model = objective.model();

  AdamWSettings adamw{opt.lr, opt.beta1, opt.beta2, opt.adam_eps, opt.weight_decay};
  auto optimizer_owner = make_adamw(model, adamw, opt.model.tie_embeddings);
  torch::optim::AdamW& optimizer = *optimizer_owner;
  const CheckpointParts parts{&model, &optimizer, objective.aux_model(), objective.aux_optimizer()};
  // With ZeRO-1 the full optimizer above only carries state to and from
  // checkpoints; the sharded one steps.
  std::unique_ptr<ShardedAdamW> sharded;
  if (opt.zero1 && dp) sharded = std::make_unique<ShardedAdamW>(*dp, model, adamw, opt.model.tie_embeddings);

  CheckpointState state;
  state.model = opt.model;
  state.model.vocab_size = ctx.corpus->vocab_size;
  state.kind = objective.kind();
  state.settings_json = objective.settings_json();
  state.tokenizer_sha256 = ctx.corpus->tokenizer_sha256;
  state.config_ini = opt.config_ini;
  const std::string metrics_path = (fs::path(opt.out) / "metrics.jsonl").string();
  if (opt.resume) {
    bool loaded = false;
    for (const auto& path : list_checkpoints(opt.out)) {
      try {
        const CheckpointState peek = load_checkpoint(path);
        if (peek.tokenizer_sha256 != ctx.corpus->tokenizer_sha256) {
          throw InputError(path + ": trained with tokenizer sha256 " + peek.tokenizer_sha256.substr(0, 12) +
                           "…, but " + opt.data + " uses " + ctx.corpus->tokenizer_sha256.substr(0, 12) +
                           "…; resume with the corpus it was trained on");
        }
        expect_kind(peek, objective.kind(), path);
        state = load_checkpoint(path, parts);
        state.config_ini = opt.config_ini;
        loaded = true;
        std::fprintf(stderr, "resuming from %s (step %ld)\n", path.c_str(), state.step);
        break;
      } catch (const InputError& e) {
        const std::string what = e.what();
        if (what.find("tokenizer sha256") != std::string::npos || what.find(" model, not a ") != std::string::npos) throw;
        std::fprintf(stderr, "warning: skipping %s\n", e.what());
      }
    }
    if (!loaded) std::fprintf(stderr, "no valid checkpoint in %s: starting from step 0\n", opt.out.c_str());
    objective.set_data_position(state.loader_position);
    if (sharded) {
      sharded->scatter_from(optimizer);
      optimizer.state().clear();
    }
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

  // Gradients are averaged in buckets started from hooks during backward;
  // under ZeRO-1 they are reduce-scattered after it instead.
  std::unique_ptr<GradientReducer> reducer;
  if (dp && !sharded) reducer = std::make_unique<GradientReducer>(*dp, model.parameters(), opt.bucket_bytes);
  const long units_per_step = objective.units_per_micro_batch() * opt.grad_accum * env.world_size;
  const std::string unit = objective.unit();
  const double peak = opt.peak_flops > 0 ? opt.peak_flops : (cuda ? peak_bf16_flops(cuda_device_name()) : 0.0);
  if (rank0) {
    std::fprintf(stderr,
                 "%s on %s\n"
                 "batch: %d x %d accumulation x %d ranks = %ld %s per step; %ld steps\n",
                 objective.describe().c_str(), cuda ? "cuda (bf16 autocast)" : "cpu (deterministic)",
                 opt.batch_size, opt.grad_accum, env.world_size, units_per_step, unit.c_str(), opt.max_steps);
    if (dp) std::fprintf(stderr, "data parallel: %d ranks via %s, %s, rendezvous %s:%d\n", env.world_size,
                         env.launcher.c_str(), dp->backend(), env.master_addr.c_str(), env.master_port);
    if (reducer) std::fprintf(stderr, "gradients: all-reduced in %d buckets of about %.1f MB\n", reducer->buckets(),
                              opt.bucket_bytes / 1e6);
    if (sharded) {
      std::fprintf(stderr,
                   "ZeRO-1: gradients reduce-scattered, parameters all-gathered; this rank holds AdamW state for "
                   "%.2fM of %.2fM parameters\n",
                   sharded->owned_parameters() / 1e6, sharded->total_parameters() / 1e6);
    }
  }

  LrSchedule schedule{opt.lr, opt.min_lr, opt.warmup_steps, opt.lr_decay_steps > 0 ? opt.lr_decay_steps : opt.max_steps};

  auto evaluate = [&]() {
    torch::NoGradGuard no_grad;
    model.eval();
    Scalars s;
    {
      compat::CudaBf16Autocast autocast(cuda);
      s = objective.evaluate();
    }
    model.train();
    if (dp) {
      try {
        s["val_loss"] = dp->sum(s.at("val_loss")) / env.world_size;
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    }
    return s;
  };

  auto save = [&](long step, const std::string& path) {
    state.step = step;
    state.loader_position = objective.data_position();
    if (sharded) {
      try {
        sharded->gather_into(optimizer);  // every rank takes part
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    }
    if (rank0) save_checkpoint(path, parts, state);
    if (sharded) optimizer.state().clear();
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
  long window_units = 0;
  double units_per_s = 0;
  const long first_step = state.step;
  result.first_step = first_step;

  for (long step = first_step; step < opt.max_steps; ++step) {
    const double lr = schedule.at(step);
    set_learning_rate(optimizer, lr);
    if (sharded) sharded->set_learning_rate(lr);

    double loss_sum = 0;
    Scalars logs;
    try {
      for (int micro = 0; micro < opt.grad_accum; ++micro) {
        if (reducer) reducer->prepare(micro + 1 == opt.grad_accum);
        torch::Tensor loss;
        Scalars micro_logs;
        {
          compat::CudaBf16Autocast autocast(cuda);
          loss = objective.loss(step, &micro_logs);
        }
        (loss / opt.grad_accum).backward();
        loss_sum += loss.item<double>();
        for (const auto& [k, v] : micro_logs) logs[k] += v / opt.grad_accum;
      }
    } catch (const c10::Error& e) {
      if (std::string(e.what()).find("out of memory") != std::string::npos) {
        throw InputError(std::string("out of memory on ") + (cuda ? "the GPU" : "the CPU") +
                         " at step " + std::to_string(step) + ": lower --batch-size (and raise --grad-accum to keep "
                         "the tokens per step) or use a smaller model");
      }
      throw;
    }
    double grad_norm = 0;
    if (dp) {
      try {
        if (sharded) {
          grad_norm = sharded->reduce_gradients(opt.grad_clip);
        } else {
          reducer->finish();
        }
        loss_sum = dp->sum(loss_sum) / env.world_size;
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    }
    if (sharded) {
      // reduce_gradients above measured and clipped the shards.
    } else if (opt.grad_clip > 0) {
      grad_norm = torch::nn::utils::clip_grad_norm_(model.parameters(), opt.grad_clip);
    } else {
      double sq = 0;
      for (const auto& p : model.parameters()) {
        if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
      }
      grad_norm = std::sqrt(sq);
    }
    if (sharded) {
      try {
        sharded->step();
      } catch (const std::exception& e) {
        throw collective_failed(e);
      }
    } else {
      optimizer.step();
    }
    optimizer.zero_grad();

    const long done = step + 1;
    const double loss = loss_sum / opt.grad_accum;
    if (!std::isfinite(loss)) {
      throw InputError("loss became " + std::to_string(loss) + " at step " + std::to_string(done) +
                       ": lower --lr or raise --warmup-steps");
    }
    result.last_loss = loss;
    window_units += units_per_step;
    if (rank0 && (done % opt.log_every == 0 || done == opt.max_steps)) {
      const double window_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      units_per_s = window_s > 0 ? window_units / window_s : 0;
      window_start = std::chrono::steady_clock::now();
      window_units = 0;
      const std::string rate_key = unit == "tok" ? "tokens_per_s" : unit + "_per_s";
      nlohmann::json j = {{"step", done},           {"loss", loss},
                          {"lr", lr},               {"grad_norm", grad_norm},
                          {rate_key, units_per_s}, {"elapsed_s", elapsed()}};
      const double mfu = peak > 0 && objective.flops_per_unit() > 0 ? units_per_s * objective.flops_per_unit() / peak : -1;
      if (mfu >= 0) j["mfu"] = mfu;
      for (const auto& [k, v] : logs) {
        j[k] = v;
        events->add_scalar("train/" + k, static_cast<float>(v), done);
      }
      std::fprintf(metrics, "%s\n", j.dump().c_str());
      std::fflush(metrics);
      events->add_scalar("train/loss", static_cast<float>(loss), done);
      events->add_scalar("train/lr", static_cast<float>(lr), done);
      events->add_scalar("train/grad_norm", static_cast<float>(grad_norm), done);
      events->add_scalar("train/" + rate_key, static_cast<float>(units_per_s), done);
      if (done % print_every == 0 || done == opt.max_steps) {
        const double eta = units_per_s > 0 ? (opt.max_steps - done) * units_per_step / units_per_s : 0;
        char mfu_text[32] = "";
        if (mfu >= 0) std::snprintf(mfu_text, sizeof mfu_text, " | MFU %.1f%%", 100 * mfu);
        if (opt.progress) {
          std::fprintf(stderr, "%sstep %ld/%ld | loss %.4f | lr %.2e | %.0f %s/s%s | ETA %s%s", tty ? "\r" : "", done,
                       opt.max_steps, loss, lr, units_per_s, unit.c_str(), mfu_text, format_duration(eta).c_str(),
                       tty ? "   " : "\n");
        }
      }
    }
    if (done % opt.eval_every == 0 || done == opt.max_steps) {
      const Scalars s = evaluate();
      const double val = s.at("val_loss");
      result.last_val_loss = val;
      result.last_eval = s;
      if (rank0) {
        nlohmann::json j = {{"step", done}};
        std::string line;
        for (const auto& [k, v] : s) {
          j[k] = v;
          events->add_scalar("val/" + (k == "val_loss" ? std::string("loss") : k), static_cast<float>(v), done);
          char buf[96];
          std::snprintf(buf, sizeof buf, "%s%s %.4g", line.empty() ? "" : ", ", k.c_str(), v);
          line += buf;
        }
        if (objective.kind() == "transformer") {
          j["val_ppl"] = std::exp(val);
          events->add_scalar("val/ppl", static_cast<float>(std::exp(val)), done);
          line += ", ppl " + std::to_string(std::exp(val)).substr(0, 6);
        }
        std::fprintf(metrics, "%s\n", j.dump().c_str());
        std::fflush(metrics);
        if (opt.progress) std::fprintf(stderr, "%sstep %ld: %s\n", tty ? "\n" : "", done, line.c_str());
      }
      if (val < state.best_val_loss) {
        state.best_val_loss = val;
        state.elapsed_s = elapsed();
        save(done, best_checkpoint_path(opt.out));
      }
    }
    if (events) events->flush();
    const bool stopping = done == opt.stop_after;
    if (done % opt.checkpoint_every == 0 || done == opt.max_steps || stopping) {
      state.elapsed_s = elapsed();
      save(done, checkpoint_path(opt.out, done));
      if (rank0) {
        const auto all = list_checkpoints(opt.out);
        for (std::size_t i = static_cast<std::size_t>(opt.keep_last); i < all.size(); ++i) fs::remove(all[i]);
      }
    }
    if (stopping) {
      if (rank0 && opt.progress) std::fprintf(stderr, "stopping after step %ld (--stop-after); --resume continues\n", done);
      result.steps = done;
      break;
    }
  }
  if (reducer && rank0) {
    std::fprintf(stderr, "data parallel: %d of %d gradient buckets started during the last backward (overlapped)\n",
                 reducer->launched_during_backward(), reducer->buckets());
  }
  if (metrics) std::fclose(metrics);
  if (result.steps == 0) result.steps = opt.max_steps;
  result.best_val_loss = state.best_val_loss;
  result.seconds = elapsed();
  result.tokens_per_s = units_per_s;
  return result;
}

}  // namespace plotforge
