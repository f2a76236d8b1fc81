#include "training/zero.h"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <type_traits>

namespace plotforge {

namespace {

// The optimizer's state map is keyed by the parameter's TensorImpl: as its
// printed address in torch 1.13, as the pointer itself in later versions.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream o;
    o << p.unsafeGetTensorImpl();
    return o.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace

ShardedAdamW::ShardedAdamW(DataParallel& dp, torch::nn::Module& model, const AdamWSettings& s, bool tied) : dp_(dp) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : model.named_parameters()) {
    named.emplace_back(p.key(), p.value());
    params_.push_back(p.value());
  }
  // Largest first, each to the least-loaded rank (ties: lowest rank), so
  // every rank computes the same assignment.
  std::vector<std::size_t> order(params_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return params_[a].numel() > params_[b].numel(); });
  std::vector<std::int64_t> load(dp.world_size(), 0);
  owner_.assign(params_.size(), 0);
  for (std::size_t k : order) {
    const int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner_[k] = r;
    load[r] += params_[k].numel();
  }
  std::vector<std::pair<std::string, torch::Tensor>> mine;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (owner_[k] == dp.rank()) mine.push_back(named[k]);
  }
  local_ = make_adamw(mine, s, tied);
}

std::size_t ShardedAdamW::owned_parameters() const {
  std::size_t n = 0;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (owner_[k] == dp_.rank()) n += params_[k].numel();
  }
  return n;
}

std::size_t ShardedAdamW::total_parameters() const {
  std::size_t n = 0;
  for (const auto& p : params_) n += p.numel();
  return n;
}

void ShardedAdamW::set_learning_rate(double lr) { plotforge::set_learning_rate(*local_, lr); }

void ShardedAdamW::step() {
  local_->step();
  torch::NoGradGuard no_grad;
  for (int r = 0; r < dp_.world_size(); ++r) {
    std::vector<torch::Tensor> parts;
    for (std::size_t k = 0; k < params_.size(); ++k) {
      if (owner_[k] == r) parts.push_back(params_[k].detach().reshape(-1));
    }
    if (parts.empty()) continue;
    torch::Tensor flat = torch::cat(parts);
    dp_.broadcast(flat, r);
    std::int64_t offset = 0;
    for (std::size_t k = 0; k < params_.size(); ++k) {
      if (owner_[k] != r) continue;
      const std::int64_t n = params_[k].numel();
      params_[k].detach().copy_(flat.narrow(0, offset, n).view(params_[k].sizes()));
      offset += n;
    }
  }
}

void ShardedAdamW::gather_into(torch::optim::AdamW& full) {
  // Non-owners contribute zeros, so one sum gives every rank every moment.
  std::vector<torch::Tensor> moments;
  std::vector<double> steps(params_.size(), 0);
  auto& local_state = local_->state();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const auto it = local_state.find(state_key(local_state, params_[k]));
    if (owner_[k] == dp_.rank() && it != local_state.end()) {
      const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      moments.push_back(st.exp_avg().reshape(-1));
      moments.push_back(st.exp_avg_sq().reshape(-1));
      steps[k] = static_cast<double>(st.step());
    } else {
      moments.push_back(torch::zeros({params_[k].numel()}, params_[k].options()));
      moments.push_back(torch::zeros({params_[k].numel()}, params_[k].options()));
    }
  }
  torch::Tensor flat = torch::cat(moments);
  torch::Tensor step_counts = torch::tensor(steps, torch::kFloat64).to(params_.front().device());  // NCCL: on the GPU
  dp_.allreduce_async(flat)->wait();
  dp_.allreduce_async(step_counts)->wait();
  auto& state = full.state();
  state.clear();
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const std::int64_t n = params_[k].numel();
    const auto step = static_cast<std::int64_t>(step_counts[static_cast<std::int64_t>(k)].item<double>());
    if (step > 0) {
      auto st = std::make_unique<torch::optim::AdamWParamState>();
      st->step(step);
      st->exp_avg(flat.narrow(0, offset, n).view(params_[k].sizes()).clone());
      st->exp_avg_sq(flat.narrow(0, offset + n, n).view(params_[k].sizes()).clone());
      state[state_key(state, params_[k])] = std::move(st);
    }
    offset += 2 * n;
  }
}

void ShardedAdamW::scatter_from(torch::optim::AdamW& full) {
  auto& state = full.state();
  auto& local_state = local_->state();
  local_state.clear();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (owner_[k] != dp_.rank()) continue;
    const auto it = state.find(state_key(state, params_[k]));
    if (it == state.end()) continue;
    const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    auto copy = std::make_unique<torch::optim::AdamWParamState>();
    copy->step(st.step());
    copy->exp_avg(st.exp_avg().clone());
    copy->exp_avg_sq(st.exp_avg_sq().clone());
    local_state[state_key(local_state, params_[k])] = std::move(copy);
  }
}

}  // namespace plotforge
