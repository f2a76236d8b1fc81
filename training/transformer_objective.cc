#include "training/transformer_objective.h"

#include <cstdio>
#include <optional>

#include <torch/nn/functional/loss.h>

#include "base/error.h"
#include "models/lora.h"
#include "models/transformer.h"
#include "training/base_model.h"
#include "training/batch_tensors.h"

namespace plotforge {

namespace {

// Next-token cross-entropy on token windows.
class TransformerObjective : public Objective {
 public:
  TransformerObjective(TrainContext& ctx, const TransformerConfig& mc, const std::optional<BaseModel>& base,
                       const LoraConfig& lora)
      : ctx_(ctx),
        model_(mc),
        train_(ctx.corpus, mc.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, mc.context, ctx.loader(Split::kValidation)),
        lora_(lora) {
    if (base) {
      load_base(*base, model_);
      config_["init_from"] = to_json(*base);
    }
    if (lora.rank > 0) {
      add_lora(model_, lora);
      config_["lora"] = to_json(lora);
    }
    model_->to(ctx.device);
  }
  nlohmann::json checkpoint_config() const override { return config_; }
  std::string kind() const override { return "transformer"; }
  torch::nn::Module& model() override { return *model_; }
  std::string describe() const override {
    const auto& mc = model_->config();
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "Transformer: %.2fM parameters (%d layers, %d heads, %d kv heads, width %d, context %d)",
                  model_->parameter_count() / 1e6, mc.n_layers, mc.n_heads, mc.kv_heads(), mc.dim, mc.context);
    std::string out = buf;
    if (config_.contains("init_from")) out += "\nstarting from " + config_["init_from"]["path"].get<std::string>();
    if (lora_.rank > 0) {
      const long long trainable = lora_.parameter_count(mc);
      std::snprintf(buf, sizeof buf,
                    "\nLoRA rank %d (alpha %g) on %s: %.3fM trainable parameters (%.2f%%), base frozen", lora_.rank,
                    lora_.alpha, lora_.targets.c_str(), trainable / 1e6, 100.0 * trainable / model_->parameter_count());
      out += buf;
    }
    return out;
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
  LoraConfig lora_;
  nlohmann::json config_ = nlohmann::json::object();
};

}  // namespace

TrainResult train(const TrainOptions& options) {
  TrainOptions opt = options;
  std::optional<BaseModel> base;
  if (!opt.init_from.empty()) {
    base = open_base(opt.init_from);
    opt.model = base->config;  // the base's shape, whatever [model] says
  }
  opt.lora.validate();
  if (opt.lora.rank > 0 && !base) {
    throw InputError(
        "--lora.rank: LoRA adapts a trained model; give --init-from RUN|BUNDLE (plotforge import makes "
        "one from a Hugging Face model)");
  }
  TrainContext ctx = begin_training(opt);
  TransformerConfig mc = opt.model;
  mc.vocab_size = ctx.corpus->vocab_size;
  if (base && (ctx.corpus->tokenizer_sha256 != base->tokenizer_sha256 || mc.vocab_size != base->config.vocab_size)) {
    throw InputError(opt.data + ": prepared with tokenizer sha256 " + ctx.corpus->tokenizer_sha256.substr(0, 12) +
                     "…, but --init-from " + opt.init_from + " uses " + base->tokenizer_sha256.substr(0, 12) +
                     "…; prepare the corpus with the base's tokenizer.model (plotforge prepare --tokenizer)");
  }
  mc.validate();
  TransformerObjective objective(ctx, mc, base, opt.lora);
  objective.eval_batches = opt.eval_batches;
  return run_training(ctx, objective, opt);
}

}  // namespace plotforge
