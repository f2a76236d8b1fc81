#include "training/optimizer.h"

namespace plotforge {

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
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(s.lr));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

}  // namespace plotforge
