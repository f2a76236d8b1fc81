#include "models/lora.h"

#include <cmath>
#include <map>

#include <torch/nn/init.h>

namespace plotforge {

namespace {

// The target's projection module and path in block `b`.
std::pair<torch::nn::Linear*, LoraPath*> find_target(BlockImpl& b, const std::string& t) {
  AttentionImpl& a = *b.self_attn;
  MLPImpl& m = *b.mlp;
  if (t == "q_proj") return {&a.q_proj, &a.q_lora};
  if (t == "k_proj") return {&a.k_proj, &a.k_lora};
  if (t == "v_proj") return {&a.v_proj, &a.v_lora};
  if (t == "o_proj") return {&a.o_proj, &a.o_lora};
  if (t == "gate_proj") return {&m.gate_proj, &m.gate_lora};
  if (t == "up_proj") return {&m.up_proj, &m.up_lora};
  return {&m.down_proj, &m.down_lora};
}

std::string prefix_of(int layer, const std::string& target) {
  const bool attn = target == "q_proj" || target == "k_proj" || target == "v_proj" || target == "o_proj";
  return "layers." + std::to_string(layer) + (attn ? ".self_attn." : ".mlp.") + target;
}

const char* const kAll[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

}  // namespace

void add_lora(Transformer& model, const LoraConfig& c) {
  c.validate();
  if (c.rank < 1) throw InputError("lora.rank: must be at least 1 to add adapters");
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  const auto targets = c.target_list();
  const auto opts = model->embed_tokens->weight.options();
  for (std::size_t l = 0; l < model->layers->size(); ++l) {
    BlockImpl& block = *model->layers[l]->as<BlockImpl>();
    for (const auto& t : targets) {
      auto [proj, path] = find_target(block, t);
      const auto& w = (*proj)->weight;
      torch::Tensor A = torch::empty({c.rank, w.size(1)}, opts);
      torch::nn::init::kaiming_uniform_(A, std::sqrt(5.0));
      path->A = (*proj)->register_parameter("lora_A", A);
      path->B = (*proj)->register_parameter("lora_B", torch::zeros({w.size(0), c.rank}, opts));
      path->scale = c.scale();
      path->dropout = c.dropout;
    }
  }
}

std::vector<std::pair<std::string, const LoraPath*>> lora_paths(Transformer& model) {
  std::vector<std::pair<std::string, const LoraPath*>> out;
  for (std::size_t l = 0; l < model->layers->size(); ++l) {
    BlockImpl& block = *model->layers[l]->as<BlockImpl>();
    for (const char* t : kAll) {
      const LoraPath* path = find_target(block, t).second;
      if (path->active()) out.emplace_back(prefix_of(static_cast<int>(l), t), path);
    }
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> merged_weights(Transformer& model) {
  torch::NoGradGuard no_grad;
  std::map<std::string, const LoraPath*> adapted;
  for (const auto& [prefix, path] : lora_paths(model)) adapted[prefix + ".weight"] = path;
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters()) {
    const std::string& name = p.key();
    if (name.find(".lora_") != std::string::npos) continue;
    const auto it = adapted.find(name);
    if (it == adapted.end()) {
      out.emplace_back(name, p.value().detach());
    } else {
      const LoraPath& a = *it->second;
      out.emplace_back(name, p.value().detach() + torch::matmul(a.B, a.A) * a.scale);
    }
  }
  return out;
}

}  // namespace plotforge
