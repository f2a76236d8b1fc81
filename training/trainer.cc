#include "training/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include "base/atomic_file.h"
#include "base/cpu_features.h"
#include "base/error.h"
#include "datasets/corpus.h"
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
    throw InputError(
        "--device cuda: no CUDA device is usable (this libtorch has no CUDA, or no GPU is visible); "
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

}  // namespace

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
  ctx.cpu_matmul = choose_cpu_matmul(opt.cpu_matmul, cpu_features(), libtorch_has_onednn());
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
    set_cpu_matmul(ctx.cpu_matmul.mode);
  }
  torch::manual_seed(opt.seed);
  return ctx;
}

namespace {

// One invocation of the training loop. Its steps, in order: resume(), then
// for each optimizer step train_step(), log_step(), evaluate_if_due() and
// checkpoint_if_due(); finish() reports.
class Run {
 public:
  Run(TrainContext& ctx, Objective& objective, const TrainOptions& opt)
      : ctx_(ctx),
        objective_(objective),
        opt_(opt),
        dp_(ctx.dp.get()),
        model_(objective.model()),
        adamw_{opt.lr, opt.beta1, opt.beta2, opt.adam_eps, opt.weight_decay},
        optimizer_(make_adamw(model_, adamw_, opt.model.tie_embeddings)),
        parts_{&model_, optimizer_.get(), objective.aux_model(), objective.aux_optimizer(), opt.lora.rank > 0},
        metrics_path_((fs::path(opt.out) / "metrics.jsonl").string()),
        schedule_{opt.lr, opt.min_lr, opt.warmup_steps, opt.lr_decay_steps > 0 ? opt.lr_decay_steps : opt.max_steps} {
    if (dp_) {
      objective_.average_gradients = [this](const std::vector<torch::Tensor>& params) {
        collective([&] { dp_->average_gradients(params, opt_.bucket_bytes()); });
      };
      // With ZeRO-1 the full optimizer only carries state to and from
      // checkpoints; the sharded one steps.
      if (opt.zero1) sharded_ = std::make_unique<ShardedAdamW>(*dp_, model_, adamw_, opt.model.tie_embeddings);
    }
    state_.model = opt.model;
    state_.model.vocab_size = ctx.corpus->vocab_size;
    state_.kind = objective.kind();
    state_.tokenizer_sha256 = ctx.corpus->tokenizer_sha256;
    state_.config = objective.checkpoint_config();
    state_.config["train"] = to_json(opt);
  }

  // Picks up the newest loadable checkpoint with --resume (a checkpoint of
  // another tokenizer or kind is an error, an unreadable one is skipped),
  // and opens the logs.
  void resume() {
    if (opt_.resume) {
      bool loaded = false;
      for (const auto& path : list_checkpoints(opt_.out)) {
        if (load_for_resume(path)) {
          loaded = true;
          break;
        }
      }
      if (!loaded) std::fprintf(stderr, "no valid checkpoint in %s: starting from step 0\n", opt_.out.c_str());
      objective_.set_data_position(state_.loader_position);
      if (sharded_) {
        sharded_->scatter_from(*optimizer_);
        optimizer_->state().clear();
      }
      if (ctx_.rank0()) truncate_metrics(metrics_path_, state_.step);
    } else if (ctx_.rank0()) {
      std::error_code ec;
      fs::remove(metrics_path_, ec);
    }
    // Logs are rank 0's; the other ranks write nothing.
    if (ctx_.rank0()) {
      metrics_ = std::fopen(metrics_path_.c_str(), "a");
      if (!metrics_) throw InputError(metrics_path_ + ": cannot open for writing");
      events_ = std::make_unique<EventWriter>(opt_.out);
    }
    // Gradients are averaged in buckets started from hooks during backward;
    // under ZeRO-1 they are reduce-scattered after it instead.
    if (dp_ && !sharded_)
      reducer_ = std::make_unique<GradientReducer>(*dp_, trainable_parameters(model_), opt_.bucket_bytes());
    units_per_step_ = objective_.units_per_micro_batch() * opt_.grad_accum * ctx_.env.world_size;
    peak_flops_ = opt_.peak_flops > 0 ? opt_.peak_flops : (ctx_.cuda() ? peak_bf16_flops(cuda_device_name()) : 0.0);
    elapsed_before_ = state_.elapsed_s;
    t_start_ = window_start_ = std::chrono::steady_clock::now();
    result_.first_step = state_.step;
    result_.best_val_loss = state_.best_val_loss;
    if (ctx_.rank0()) describe();
  }

  long first_step() const { return state_.step; }

  // One optimizer step: grad_accum micro-batches, the gradients averaged
  // across ranks, clipped and applied. Returns the mean loss.
  double train_step(long step) {
    lr_ = schedule_.at(step);
    set_learning_rate(*optimizer_, lr_);
    if (sharded_) sharded_->set_learning_rate(lr_);
    double loss_sum = 0;
    logs_.clear();
    try {
      for (int micro = 0; micro < opt_.grad_accum; ++micro) {
        if (reducer_) reducer_->prepare(micro + 1 == opt_.grad_accum);
        torch::Tensor loss;
        Scalars micro_logs;
        {
          compat::CudaBf16Autocast autocast(ctx_.cuda());
          loss = objective_.loss(step, &micro_logs);
        }
        (loss / opt_.grad_accum).backward();
        loss_sum += loss.item<double>();
        for (const auto& [k, v] : micro_logs) logs_[k] += v / opt_.grad_accum;
      }
    } catch (const c10::OutOfMemoryError&) {  // the GPU's caching allocator; by type, not by message
      throw InputError(std::string("out of memory on ") + (ctx_.cuda() ? "the GPU" : "the CPU") + " at step " +
                       std::to_string(step) +
                       ": lower --batch-size (and raise --grad-accum to keep the tokens per "
                       "step) or use a smaller model");
    }
    if (dp_) {
      collective([&] {
        if (sharded_) {
          grad_norm_ = sharded_->reduce_gradients(opt_.grad_clip);  // measures and clips the shards
        } else {
          reducer_->finish();
        }
        loss_sum = dp_->sum(loss_sum) / ctx_.env.world_size;
      });
    }
    if (!sharded_) grad_norm_ = clip_gradients();
    if (sharded_) {
      collective([&] { sharded_->step(); });
    } else {
      optimizer_->step();
    }
    optimizer_->zero_grad();
    const double loss = loss_sum / opt_.grad_accum;
    if (!std::isfinite(loss)) {
      throw InputError("loss became " + std::to_string(loss) + " at step " + std::to_string(step + 1) +
                       ": lower --lr or raise --warmup-steps");
    }
    result_.last_loss = loss;
    window_units_ += units_per_step_;
    return loss;
  }

  // metrics.jsonl, TensorBoard and the progress line for step `done`.
  void log_step(long done, double loss) {
    if (!ctx_.rank0() || !(done % opt_.log_every == 0 || done == opt_.max_steps)) return;
    const double window_s = seconds_since(window_start_);
    units_per_s_ = window_s > 0 ? window_units_ / window_s : 0;
    window_start_ = std::chrono::steady_clock::now();
    window_units_ = 0;
    const std::string unit = objective_.unit();
    const std::string rate_key = unit == "tok" ? "tokens_per_s" : unit + "_per_s";
    nlohmann::json j = {{"step", done},           {"loss", loss},          {"lr", lr_}, {"grad_norm", grad_norm_},
                        {rate_key, units_per_s_}, {"elapsed_s", elapsed()}};
    const double fpu = objective_.flops_per_unit();
    const double mfu = peak_flops_ > 0 && fpu > 0 ? units_per_s_ * fpu / peak_flops_ : -1;
    if (mfu >= 0) j["mfu"] = mfu;
    for (const auto& [k, v] : logs_) {
      j[k] = v;
      events_->add_scalar("train/" + k, static_cast<float>(v), done);
    }
    std::fprintf(metrics_, "%s\n", j.dump().c_str());
    std::fflush(metrics_);
    events_->add_scalar("train/loss", static_cast<float>(loss), done);
    events_->add_scalar("train/lr", static_cast<float>(lr_), done);
    events_->add_scalar("train/grad_norm", static_cast<float>(grad_norm_), done);
    events_->add_scalar("train/" + rate_key, static_cast<float>(units_per_s_), done);
    const long print_every = tty_ ? opt_.log_every : std::max<long>(1, opt_.max_steps / 20);
    if (opt_.quiet || !(done % print_every == 0 || done == opt_.max_steps)) return;
    const double eta = units_per_s_ > 0 ? (opt_.max_steps - done) * units_per_step_ / units_per_s_ : 0;
    char mfu_text[32] = "";
    if (mfu >= 0) std::snprintf(mfu_text, sizeof mfu_text, " | MFU %.1f%%", 100 * mfu);
    std::fprintf(stderr, "%sstep %ld/%ld | loss %.4f | lr %.2e | %.0f %s/s%s | ETA %s%s", tty_ ? "\r" : "", done,
                 opt_.max_steps, loss, lr_, units_per_s_, unit.c_str(), mfu_text, format_duration(eta).c_str(),
                 tty_ ? "   " : "\n");
  }

  // A validation pass when due, logged; a better one saves best.pt.
  void evaluate_if_due(long done) {
    if (!(done % opt_.eval_every == 0 || done == opt_.max_steps)) return;
    const Scalars s = evaluate();
    const double val = s.at("val_loss");
    result_.last_val_loss = val;
    result_.last_eval = s;
    if (ctx_.rank0()) log_evaluation(done, s);
    if (val < state_.best_val_loss) {
      state_.best_val_loss = val;
      state_.elapsed_s = elapsed();
      save(done, best_checkpoint_path(opt_.out));
    }
  }

  // A checkpoint when due (every checkpoint_every steps, the last step, and
  // --stop-after's), keeping the newest keep_last. Returns whether the run
  // stops here (--stop-after).
  bool checkpoint_if_due(long done) {
    if (events_) events_->flush();
    const bool stopping = done == opt_.stop_after;
    if (done % opt_.checkpoint_every == 0 || done == opt_.max_steps || stopping) {
      state_.elapsed_s = elapsed();
      save(done, checkpoint_path(opt_.out, done));
      if (ctx_.rank0()) {
        const auto all = list_checkpoints(opt_.out);
        for (std::size_t i = static_cast<std::size_t>(opt_.keep_last); i < all.size(); ++i) fs::remove(all[i]);
      }
    }
    if (stopping) {
      if (ctx_.rank0() && !opt_.quiet) {
        std::fprintf(stderr, "stopping after step %ld (--stop-after); --resume continues\n", done);
      }
      result_.steps = done;
    }
    return stopping;
  }

  TrainResult finish() {
    if (reducer_ && ctx_.rank0() && !dp_->shares_memory()) {
      std::fprintf(stderr, "data parallel: %d of %d gradient buckets started during the last backward (overlapped)\n",
                   reducer_->launched_during_backward(), reducer_->buckets());
    }
    if (metrics_) std::fclose(metrics_);
    metrics_ = nullptr;
    if (result_.steps == 0) result_.steps = opt_.max_steps;
    result_.best_val_loss = state_.best_val_loss;
    result_.seconds = elapsed();
    result_.tokens_per_s = units_per_s_;
    return result_;
  }

  ~Run() {
    if (metrics_) std::fclose(metrics_);
  }

 private:
  // Runs a collective; any failure becomes the same clear error on every
  // rank, with the heartbeat's diagnosis of which rank died or hung.
  template <class F>
  void collective(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      const std::string what = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
      throw InputError("rank " + std::to_string(ctx_.env.rank) + " of " + std::to_string(ctx_.env.world_size) +
                       ": a collective failed: " + dp_->diagnose_failure() + " (" + what.substr(0, 200) +
                       "); every rank stops");
    }
  }

  // Loads `path` to resume from; false (with a warning) if it is unreadable.
  // A checkpoint of another tokenizer or kind of model is an error: resuming
  // past it to an older one would silently train something else.
  bool load_for_resume(const std::string& path) {
    CheckpointState peek;
    try {
      peek = load_checkpoint(path);
    } catch (const InputError& e) {
      std::fprintf(stderr, "warning: skipping %s\n", e.what());
      return false;
    }
    if (peek.tokenizer_sha256 != ctx_.corpus->tokenizer_sha256) {
      throw InputError(path + ": trained with tokenizer sha256 " + peek.tokenizer_sha256.substr(0, 12) + "…, but " +
                       opt_.data + " uses " + ctx_.corpus->tokenizer_sha256.substr(0, 12) +
                       "…; resume with the corpus it was trained on");
    }
    expect_kind(peek, objective_.kind(), path);
    // A fine-tuned run resumes from the same base with the same adapters.
    // The base is the same by its bytes (sha256), wherever it lies now.
    for (const char* key : {"init_from", "lora"}) {
      const auto none = nlohmann::json();
      auto was = peek.config.contains(key) ? peek.config[key] : none;
      auto now = state_.config.contains(key) ? state_.config[key] : none;
      if (std::string(key) == "init_from" && was.is_object() && now.is_object()) {
        was.erase("path");
        now.erase("path");
      }
      if (was != now) {
        throw InputError(path + ": trained with " + key + " " + was.dump() + ", but this invocation gives " +
                         now.dump() + "; resume with the run's own --init-from and --lora.* options");
      }
    }
    CheckpointState loaded;
    try {
      loaded = load_checkpoint(path, parts_);
    } catch (const InputError& e) {
      std::fprintf(stderr, "warning: skipping %s\n", e.what());
      return false;
    }
    // The counters come from the checkpoint; the configuration is this
    // invocation's (a resumed run may raise --max-steps).
    state_.step = loaded.step;
    state_.loader_position = loaded.loader_position;
    state_.best_val_loss = loaded.best_val_loss;
    state_.elapsed_s = loaded.elapsed_s;
    std::fprintf(stderr, "resuming from %s (step %ld)\n", path.c_str(), state_.step);
    return true;
  }

  void describe() const {
    const auto& env = ctx_.env;
    const std::string cpu = std::string("cpu (deterministic; ") +
                            (ctx_.cpu_matmul.mode == CpuMatmul::kBFloat16 ? "bf16" : "fp32") + " products, " +
                            ctx_.cpu_matmul.why + ")";
    std::fprintf(stderr,
                 "%s on %s\n"
                 "batch: %d x %d accumulation x %d ranks = %ld %s per step; %ld steps\n",
                 objective_.describe().c_str(), ctx_.cuda() ? "cuda (bf16 autocast)" : cpu.c_str(), opt_.batch_size,
                 opt_.grad_accum, env.world_size, units_per_step_, objective_.unit().c_str(), opt_.max_steps);
    if (dp_) {
      std::fprintf(stderr, "data parallel: %d ranks via %s, %s, rendezvous %s:%d\n", env.world_size,
                   env.launcher.c_str(), dp_->backend(), env.master_addr.c_str(), env.master_port);
    }
    if (reducer_) {
      std::fprintf(
          stderr, "gradients: all-reduced in %d buckets of about %.1f MB%s\n", reducer_->buckets(),
          opt_.bucket_bytes() / 1e6,
          dp_->shares_memory() ? ", each in shared memory as its gradients are ready (the ranks wait there)" : "");
    }
    if (sharded_) {
      std::fprintf(stderr,
                   "ZeRO-1: gradients reduce-scattered, parameters all-gathered; this rank holds AdamW state for "
                   "%.2fM of %.2fM parameters\n",
                   sharded_->owned_parameters() / 1e6, sharded_->total_parameters() / 1e6);
    }
  }

  // The global gradient norm, clipped to opt.grad_clip when that is set.
  double clip_gradients() { return clip_grad_norm(trainable_parameters(model_), opt_.grad_clip); }

  Scalars evaluate() {
    torch::NoGradGuard no_grad;
    model_.eval();
    Scalars s;
    {
      compat::CudaBf16Autocast autocast(ctx_.cuda());
      s = objective_.evaluate();
    }
    model_.train();
    if (dp_) collective([&] { s["val_loss"] = dp_->sum(s.at("val_loss")) / ctx_.env.world_size; });
    return s;
  }

  void log_evaluation(long done, const Scalars& s) {
    nlohmann::json j = {{"step", done}};
    std::string line;
    for (const auto& [k, v] : s) {
      j[k] = v;
      events_->add_scalar("val/" + (k == "val_loss" ? std::string("loss") : k), static_cast<float>(v), done);
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s%s %.4g", line.empty() ? "" : ", ", k.c_str(), v);
      line += buf;
    }
    if (objective_.kind() == "transformer") {
      const double ppl = std::exp(s.at("val_loss"));
      j["val_ppl"] = ppl;
      events_->add_scalar("val/ppl", static_cast<float>(ppl), done);
      line += ", ppl " + std::to_string(ppl).substr(0, 6);
    }
    std::fprintf(metrics_, "%s\n", j.dump().c_str());
    std::fflush(metrics_);
    if (!opt_.quiet) std::fprintf(stderr, "%sstep %ld: %s\n", tty_ ? "\n" : "", done, line.c_str());
  }

  void save(long step, const std::string& path) {
    state_.step = step;
    state_.loader_position = objective_.data_position();
    if (sharded_) collective([&] { sharded_->gather_into(*optimizer_); });  // every rank takes part
    if (ctx_.rank0()) save_checkpoint(path, parts_, state_);
    if (sharded_) optimizer_->state().clear();
  }

  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  double elapsed() const { return elapsed_before_ + seconds_since(t_start_); }

  TrainContext& ctx_;
  Objective& objective_;
  const TrainOptions& opt_;
  DataParallel* dp_;
  torch::nn::Module& model_;
  AdamWSettings adamw_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  CheckpointParts parts_;
  std::unique_ptr<ShardedAdamW> sharded_;
  std::unique_ptr<GradientReducer> reducer_;
  CheckpointState state_;
  const std::string metrics_path_;
  std::FILE* metrics_ = nullptr;
  std::unique_ptr<EventWriter> events_;
  LrSchedule schedule_;
  const bool tty_ = isatty(STDERR_FILENO);
  long units_per_step_ = 0;
  double peak_flops_ = 0;
  double lr_ = 0, grad_norm_ = 0;
  Scalars logs_;
  double elapsed_before_ = 0;
  std::chrono::steady_clock::time_point t_start_, window_start_;
  long window_units_ = 0;
  double units_per_s_ = 0;
  TrainResult result_;
};

}  // namespace

TrainResult run_training(TrainContext& ctx, Objective& objective, const TrainOptions& opt) {
  Run run(ctx, objective, opt);
  run.resume();
  for (long step = run.first_step(); step < opt.max_steps; ++step) {
    const double loss = run.train_step(step);
    const long done = step + 1;
    run.log_step(done, loss);
    run.evaluate_if_due(done);
    if (run.checkpoint_if_due(done)) break;
  }
  return run.finish();
}

}  // namespace plotforge
