#include "training/optimizer.h"

namespace plotforge {

std::unique_ptr<torch::optim::AdamW> make_adamw(Transformer& model, const AdamWSettings& s) {
  return make_adamw(*model, s, model->config().tie_embeddings);
}

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const AdamWSettings& s, bool tied) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : model.named_parameters()) named.emplace_back(p.key(), p.value());
  return make_adamw(named, s, tied);
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<std::pair<std::string, torch::Tensor>>& named,
                                                const AdamWSettings& s, bool tied) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& [name, value] : named) {
    const bool is_embedding = name.find("embed_tokens") != std::string::npos && !tied;
    (value.dim() >= 2 && !is_embedding ? decay : no_decay).push_back(value);
  }
  auto options = [&](double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(s.lr);
    o->betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(wd);
    return o;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(s.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(s.lr));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

}  // namespace plotforge
