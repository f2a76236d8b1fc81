#include "training/transformer_objective.h"

#include <cstdio>

#include <torch/nn/functional/loss.h>

#include "models/transformer.h"
#include "training/batch_tensors.h"

namespace plotforge {

namespace {

// Next-token cross-entropy on token windows.
class TransformerObjective : public Objective {
 public:
  TransformerObjective(TrainContext& ctx, const TransformerConfig& mc)
      : ctx_(ctx),
        model_(mc),
        train_(ctx.corpus, mc.context, ctx.loader(Split::kTrain)),
        val_(ctx.corpus, mc.context, ctx.loader(Split::kValidation)) {
    model_->to(ctx.device);
  }
  std::string kind() const override { return "transformer"; }
  torch::nn::Module& model() override { return *model_; }
  std::string describe() const override {
    const auto& mc = model_->config();
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "Transformer: %.2fM parameters (%d layers, %d heads, %d kv heads, width %d, context %d)",
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

TrainResult train(const TrainOptions& opt) {
  TrainContext ctx = begin_training(opt);
  TransformerConfig mc = opt.model;
  mc.vocab_size = ctx.corpus->vocab_size;
  mc.validate();
  TransformerObjective objective(ctx, mc);
  objective.eval_batches = opt.eval_batches;
  return run_training(ctx, objective, opt);
}

}  // namespace plotforge
