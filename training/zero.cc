#include "training/zero.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/torch_compat.h"

namespace plotforge {

namespace {

template <typename Map>
const torch::optim::AdamWParamState* find_state(const Map& state, const torch::Tensor& p) {
  const auto it = state.find(compat::optimizer_state_key(state, p));
  return it == state.end() ? nullptr : &static_cast<const torch::optim::AdamWParamState&>(*it->second);
}

}  // namespace

ShardedAdamW::ShardedAdamW(DataParallel& dp, torch::nn::Module& model, const AdamWSettings& s, bool tied) : dp_(dp) {
  std::vector<bool> decays;
  for (const auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;  // frozen (a LoRA base): no state, no gradient
    const torch::Tensor& v = p.value();
    if (!params_.empty() && (v.scalar_type() != params_[0].scalar_type() || v.device() != params_[0].device())) {
      throw std::invalid_argument("ZeRO-1: parameter " + p.key() + " differs in dtype or device from the others");
    }
    offset_.push_back(total_);
    total_ += v.numel();
    params_.push_back(v);
    decays.push_back(takes_weight_decay(p.key(), v, tied));
  }
  const int world = dp.world_size();
  shard_ = (total_ + world - 1) / world;
  const std::int64_t lo = shard_ * dp.rank(), hi = lo + shard_;
  std::vector<torch::Tensor> decay, no_decay;
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const std::int64_t a = std::max(lo, offset_[k]), b = std::min(hi, offset_[k] + params_[k].numel());
    if (a >= b) continue;
    // A view: AdamW updates the parameter's own values in place.
    Piece piece{k, a - offset_[k], a - lo, params_[k].detach().view(-1).narrow(0, a - offset_[k], b - a)};
    (decays[k] ? decay : no_decay).push_back(piece.value);
    pieces_.push_back(std::move(piece));
  }
  local_ = make_adamw(std::move(decay), std::move(no_decay), s);
  grad_shard_ = torch::zeros({shard_}, params_.front().options());
}

std::size_t ShardedAdamW::owned_parameters() const {
  std::size_t n = 0;
  for (const auto& p : pieces_) n += static_cast<std::size_t>(p.value.numel());
  return n;
}

void ShardedAdamW::set_learning_rate(double lr) { plotforge::set_learning_rate(*local_, lr); }

torch::Tensor ShardedAdamW::flat_of(const std::vector<torch::Tensor>& per_param) const {
  std::vector<torch::Tensor> parts;
  for (const auto& t : per_param) parts.push_back(t.reshape(-1));
  const std::int64_t pad = shard_ * dp_.world_size() - total_;
  if (pad > 0) parts.push_back(torch::zeros({pad}, params_.front().options()));
  return torch::cat(parts);
}

double ShardedAdamW::reduce_gradients(double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params_) grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
  dp_.reduce_scatter(flat_of(grads), grad_shard_);
  grad_shard_.div_(dp_.world_size());
  // The shards are disjoint, so their squared norms sum to the whole's.
  const double norm = std::sqrt(dp_.sum(grad_shard_.pow(2).sum().item<double>()));
  const double coef = max_norm / (norm + 1e-6);
  if (max_norm > 0 && coef < 1) grad_shard_.mul_(coef);
  for (auto& piece : pieces_) {
    piece.value.mutable_grad() = grad_shard_.narrow(0, piece.shard_offset, piece.value.numel());
  }
  return norm;
}

void ShardedAdamW::step() {
  torch::NoGradGuard no_grad;
  local_->step();
  torch::Tensor shard = torch::zeros({shard_}, params_.front().options());
  for (const auto& piece : pieces_) shard.narrow(0, piece.shard_offset, piece.value.numel()).copy_(piece.value);
  torch::Tensor flat = torch::empty({shard_ * dp_.world_size()}, params_.front().options());
  dp_.all_gather(shard, flat);
  for (std::size_t k = 0; k < params_.size(); ++k) {
    params_[k].detach().copy_(flat.narrow(0, offset_[k], params_[k].numel()).view(params_[k].sizes()));
  }
}

void ShardedAdamW::gather_into(torch::optim::AdamW& full) {
  torch::NoGradGuard no_grad;
  const auto options = params_.front().options();
  torch::Tensor exp_avg = torch::zeros({shard_}, options), exp_avg_sq = torch::zeros({shard_}, options);
  // A parameter's step count comes from the rank holding its first value.
  std::vector<double> steps(params_.size(), 0);
  for (const auto& piece : pieces_) {
    const auto* st = find_state(local_->state(), piece.value);
    if (st == nullptr) continue;
    exp_avg.narrow(0, piece.shard_offset, piece.value.numel()).copy_(st->exp_avg());
    exp_avg_sq.narrow(0, piece.shard_offset, piece.value.numel()).copy_(st->exp_avg_sq());
    if (piece.begin == 0) steps[piece.param] = static_cast<double>(st->step());
  }
  const std::int64_t n_all = shard_ * dp_.world_size();
  torch::Tensor all_avg = torch::empty({n_all}, options), all_sq = torch::empty({n_all}, options);
  dp_.all_gather(exp_avg, all_avg);
  dp_.all_gather(exp_avg_sq, all_sq);
  torch::Tensor step_counts = torch::tensor(steps, torch::kFloat64).to(params_.front().device());  // NCCL: on the GPU
  dp_.allreduce_async(step_counts)->wait();
  const torch::Tensor counts = step_counts.cpu();
  auto& state = full.state();
  state.clear();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const auto step = static_cast<std::int64_t>(counts[static_cast<std::int64_t>(k)].item<double>());
    if (step == 0) continue;
    auto st = std::make_unique<torch::optim::AdamWParamState>();
    st->step(step);
    st->exp_avg(all_avg.narrow(0, offset_[k], params_[k].numel()).view(params_[k].sizes()).clone());
    st->exp_avg_sq(all_sq.narrow(0, offset_[k], params_[k].numel()).view(params_[k].sizes()).clone());
    state[compat::optimizer_state_key(state, params_[k])] = std::move(st);
  }
}

void ShardedAdamW::scatter_from(torch::optim::AdamW& full) {
  auto& local_state = local_->state();
  local_state.clear();
  for (const auto& piece : pieces_) {
    const auto* st = find_state(full.state(), params_[piece.param]);
    if (st == nullptr) continue;
    const std::int64_t n = piece.value.numel();
    auto copy = std::make_unique<torch::optim::AdamWParamState>();
    copy->step(st->step());
    copy->exp_avg(st->exp_avg().reshape(-1).narrow(0, piece.begin, n).clone());
    copy->exp_avg_sq(st->exp_avg_sq().reshape(-1).narrow(0, piece.begin, n).clone());
    local_state[compat::optimizer_state_key(local_state, piece.value)] = std::move(copy);
  }
}

}  // namespace plotforge
