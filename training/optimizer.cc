#include "training/optimizer.h"

#include <cmath>

#include <torch/nn/utils/clip_grad.h>

#include "kernels/cpu_adamw.h"
#include "models/torch_compat.h"

namespace plotforge {

namespace {

bool plain_cpu_float(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
}

class LoopAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;

  torch::Tensor step(LossClosure closure = nullptr) override {
    for (auto& group : param_groups())
      for (auto& p : group.params())
        if (p.grad().defined() && !(plain_cpu_float(p) && plain_cpu_float(p.grad()))) return AdamW::step(closure);
    TORCH_CHECK(!closure, "plotforge's AdamW takes no closure");
    torch::NoGradGuard no_grad;
    for (auto& group : param_groups()) {
      const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
      TORCH_CHECK(!o.amsgrad(), "plotforge's AdamW has no amsgrad");
      const double lr = o.lr(), beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        auto& slot = state()[compat::optimizer_state_key(state(), p)];
        if (!slot) {  // as torch's first step: zero moments
          auto fresh = std::make_unique<torch::optim::AdamWParamState>();
          fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          slot = std::move(fresh);
        }
        auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
        st.step(st.step() + 1);
        // torch's scalars, rounded to float where its kernels round them.
        kernels::AdamWScalars k;
        k.decay = static_cast<float>(1 - lr * o.weight_decay());
        k.b1 = static_cast<float>(beta1);
        k.b2 = static_cast<float>(beta2);
        k.a1 = static_cast<float>(1 - beta1);
        k.a2 = static_cast<float>(1 - beta2);
        k.root_bc2 = static_cast<float>(std::sqrt(1 - std::pow(beta2, st.step())));
        k.step_size = static_cast<float>(-(lr / (1 - std::pow(beta1, st.step()))));
        k.eps = static_cast<float>(o.eps());
        k.decays = o.weight_decay() != 0;
        kernels::adamw_step(p.data_ptr<float>(), p.grad().data_ptr<float>(), st.exp_avg().data_ptr<float>(),
                            st.exp_avg_sq().data_ptr<float>(), p.numel(), k);
      }
    }
    return {};
  }
};

}  // namespace

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  bool loop = true;
  for (const auto& g : grads) loop = loop && plain_cpu_float(g);
  if (!loop) {
    if (max_norm > 0) return torch::nn::utils::clip_grad_norm_(params, max_norm);
    double sq = 0;
    for (const auto& g : grads) sq += g.pow(2).sum().item<double>();
    return std::sqrt(sq);
  }
  double sq = 0;
  for (const auto& g : grads) sq += kernels::sum_of_squares(g.data_ptr<float>(), g.numel());
  const double norm = std::sqrt(sq);
  const double coef = max_norm / (norm + 1e-6);
  if (max_norm > 0 && coef < 1) {
    torch::NoGradGuard no_grad;
    for (auto& g : grads) g.mul_(coef);
  }
  return norm;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(Transformer& model, const AdamWSettings& s) {
  return make_adamw(*model, s, model->config().tie_embeddings);
}

std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

bool takes_weight_decay(const std::string& name, const torch::Tensor& value, bool tied) {
  const bool is_embedding = name.find("embed_tokens") != std::string::npos && !tied;
  return value.dim() >= 2 && !is_embedding;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const AdamWSettings& s, bool tied) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    (takes_weight_decay(p.key(), p.value(), tied) ? decay : no_decay).push_back(p.value());
  }
  return make_adamw(std::move(decay), std::move(no_decay), s);
}

std::unique_ptr<torch::optim::AdamW> make_adamw(std::vector<torch::Tensor> decay, std::vector<torch::Tensor> no_decay,
                                                const AdamWSettings& s) {
  auto options = [&](double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(s.lr);
    o->betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(wd);
    return o;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::move(decay), options(s.weight_decay));
  groups.emplace_back(std::move(no_decay), options(0.0));
  return std::make_unique<LoopAdamW>(groups, torch::optim::AdamWOptions(s.lr));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

}  // namespace plotforge
