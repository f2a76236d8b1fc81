#include "recommendation/als.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <ATen/CPUGeneratorImpl.h>

#include "base/error.h"
#include "recommendation/split.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

namespace {

// Per row (user or item): the columns it interacted with and their confidences - 1.
struct Rows {
  std::vector<std::vector<std::int64_t>> cols;
  std::vector<std::vector<float>> extra;  // c - 1 = alpha * value
};

Rows rows_of(const std::vector<Interaction>& train, std::size_t n, bool by_user, double alpha) {
  Rows r;
  r.cols.resize(n);
  r.extra.resize(n);
  for (const auto& x : train) {
    const std::size_t row = by_user ? x.user : x.item;
    r.cols[row].push_back(by_user ? x.item : x.user);
    r.extra[row].push_back(static_cast<float>(alpha * x.value));
  }
  return r;
}

// One half-step: every row of `target` solved exactly against `fixed`.
void solve_side(torch::Tensor& target, const torch::Tensor& fixed, const Rows& rows, double reg) {
  torch::NoGradGuard no_grad;
  const auto f = fixed.size(1);
  const auto opts = fixed.options();
  const auto gram = fixed.t().mm(fixed) + reg * torch::eye(f, opts);
  for (std::size_t r = 0; r < rows.cols.size(); ++r) {
    if (rows.cols[r].empty()) {
      target[static_cast<std::int64_t>(r)].zero_();  // no evidence: the prior's mean, 0
      continue;
    }
    const auto idx = torch::tensor(rows.cols[r], torch::TensorOptions().dtype(torch::kInt64)).to(fixed.device());
    const auto extra = torch::tensor(rows.extra[r], torch::TensorOptions().dtype(torch::kFloat32)).to(fixed.device());
    const auto yr = fixed.index_select(0, idx);                          // [n, f]
    const auto a = gram + yr.t().mm(yr * extra.unsqueeze(1));            // Y^T Y + Y^T (C - I) Y + reg I
    const auto b = (yr * (extra + 1).unsqueeze(1)).sum(0).unsqueeze(1);  // Y^T C p
    target[static_cast<std::int64_t>(r)].copy_(at::linalg_solve(a, b).squeeze(1));
  }
}

}  // namespace

struct AlsTrainer::State {
  const std::vector<Interaction>& train;
  AlsOptions o;
  torch::nn::Module net;
  torch::Tensor x, y;
  Rows by_user, by_item;
  State(const std::vector<Interaction>& t, const AlsOptions& opts) : train(t), o(opts) {}
};

AlsTrainer::AlsTrainer(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                       const AlsOptions& o)
    : s_(std::make_unique<State>(train, o)) {
  if (o.factors < 1 || o.iterations < 1 || o.reg < 0 || o.alpha < 0) {
    throw InputError("ALS: --factors and --iterations must be at least 1, --reg and --alpha not negative");
  }
  torch::NoGradGuard no_grad;
  State& s = *s_;
  const torch::Device device(o.device);
  auto gen = at::detail::createCPUGenerator(o.seed);
  s.x = s.net.register_parameter(
      "users", (at::randn({static_cast<std::int64_t>(n_users), o.factors}, gen) * 0.01).to(device), false);
  s.y = s.net.register_parameter(
      "items", (at::randn({static_cast<std::int64_t>(n_items), o.factors}, gen) * 0.01).to(device), false);
  s.by_user = rows_of(train, n_users, true, o.alpha);
  s.by_item = rows_of(train, n_items, false, o.alpha);
}

AlsTrainer::~AlsTrainer() = default;
torch::nn::Module& AlsTrainer::module() { return s_->net; }

double AlsTrainer::run_iteration(bool loss) {
  State& s = *s_;
  solve_side(s.x, s.y, s.by_user, s.o.reg);
  solve_side(s.y, s.x, s.by_item, s.o.reg);
  ++iteration_;
  return loss ? als_loss(model(), s.train, s.o) : std::nan("");
}

FactorModel AlsTrainer::model() const {
  FactorModel m;
  m.users = s_->x.detach().cpu();
  m.items = s_->y.detach().cpu();
  return m;
}

FactorModel train_als(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                      const AlsOptions& o, const std::function<void(int, double)>& progress) {
  AlsTrainer t(train, n_users, n_items, o);
  while (t.iteration() < o.iterations) {
    const double loss = t.run_iteration(progress != nullptr);
    if (progress) progress(t.iteration(), loss);
  }
  return t.model();
}

double als_loss(const FactorModel& m, const std::vector<Interaction>& train, const AlsOptions& o) {
  torch::NoGradGuard no_grad;
  const auto pred = m.users.mm(m.items.t()).to(torch::kFloat64);
  auto pref = torch::zeros_like(pred), conf = torch::ones_like(pred);
  auto p = pref.accessor<double, 2>();
  auto c = conf.accessor<double, 2>();
  for (const auto& r : train) {
    p[r.user][r.item] = 1;
    c[r.user][r.item] = 1 + o.alpha * r.value;
  }
  const auto err = (conf * (pref - pred).pow(2)).sum();
  const auto penalty = o.reg * (m.users.to(torch::kFloat64).pow(2).sum() + m.items.to(torch::kFloat64).pow(2).sum());
  return (err + penalty).item<double>();
}

}  // namespace plotforge::recommendation
