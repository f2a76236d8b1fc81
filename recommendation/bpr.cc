#include "recommendation/bpr.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "base/error.h"
#include "recommendation/split.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

BprModel train_bpr(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                   const ItemFeatures* features, const BprOptions& o,
                   const std::function<void(int, double)>& progress) {
  if (o.factors < 1 || o.epochs < 1 || o.batch < 1 || !(o.lr > 0) || o.reg < 0) {
    throw InputError("BPR: --factors, --epochs and --batch must be at least 1, --lr positive, --reg not negative");
  }
  if (train.empty() || n_items < 2) throw InputError("BPR: needs training interactions and at least two items");
  const torch::Device device(o.device);
  torch::manual_seed(o.seed);
  const auto f = o.factors;
  const auto U = static_cast<std::int64_t>(n_users), I = static_cast<std::int64_t>(n_items);
  auto user_emb = (torch::randn({U, f}) * 0.01).to(device).requires_grad_();
  auto item_emb = (torch::randn({I, f}) * 0.01).to(device).requires_grad_();
  auto item_b = torch::zeros({I}).to(device).requires_grad_();
  std::vector<torch::Tensor> params = {user_emb, item_emb, item_b};
  torch::Tensor feat, feat_emb, feat_b;  // hybrid: [I, F], [F, f], [F]
  if (features) {
    const auto F = static_cast<std::int64_t>(features->names.size());
    std::vector<float> flat;
    for (const auto& v : features->vectors) flat.insert(flat.end(), v.begin(), v.end());
    feat = torch::from_blob(flat.data(), {I, F}, torch::kFloat32).clone().to(device);
    feat_emb = (torch::randn({F, f}) * 0.01).to(device).requires_grad_();
    feat_b = torch::zeros({F}).to(device).requires_grad_();
    params.push_back(feat_emb);
    params.push_back(feat_b);
  }
  auto item_vectors = [&](const torch::Tensor& idx) {
    auto v = item_emb.index_select(0, idx);
    auto b = item_b.index_select(0, idx);
    if (features) {
      const auto w = feat.index_select(0, idx);
      v = v + w.mm(feat_emb);
      b = b + w.mv(feat_b);
    }
    return std::make_pair(v, b);
  };
  torch::optim::Adam adam(params, torch::optim::AdamOptions(o.lr));
  const auto seen = items_by_user(train, n_users);
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<std::size_t> pick_row(0, train.size() - 1);
  std::uniform_int_distribution<std::int64_t> pick_item(0, I - 1);
  const long steps = static_cast<long>((train.size() + o.batch - 1) / o.batch);
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    double total = 0;
    for (long s = 0; s < steps; ++s) {
      std::vector<std::int64_t> us(o.batch), is(o.batch), js(o.batch);
      for (int b = 0; b < o.batch; ++b) {
        const Interaction& r = train[pick_row(rng)];
        us[b] = r.user;
        is[b] = r.item;
        std::int64_t j;
        do {
          j = pick_item(rng);
        } while (std::binary_search(seen[r.user].begin(), seen[r.user].end(), static_cast<std::int32_t>(j)));
        js[b] = j;
      }
      auto opt64 = torch::TensorOptions().dtype(torch::kInt64);
      const auto u = torch::tensor(us, opt64).to(device), i = torch::tensor(is, opt64).to(device),
                 j = torch::tensor(js, opt64).to(device);
      const auto xu = user_emb.index_select(0, u);
      const auto [yi, bi] = item_vectors(i);
      const auto [yj, bj] = item_vectors(j);
      const auto diff = (xu * (yi - yj)).sum(1) + bi - bj;
      auto loss =
          -torch::log_sigmoid(diff).mean() +
          o.reg * (xu.pow(2).sum() + yi.pow(2).sum() + yj.pow(2).sum() + bi.pow(2).sum() + bj.pow(2).sum()) / o.batch;
      adam.zero_grad();
      loss.backward();
      adam.step();
      total += loss.item<double>();
    }
    if (progress) progress(epoch, total / steps);
  }
  torch::NoGradGuard no_grad;
  BprModel m;
  m.users = user_emb.detach().cpu();
  const auto all = torch::arange(I, torch::TensorOptions().dtype(torch::kInt64)).to(device);
  const auto [v, b] = item_vectors(all);
  m.items = v.detach().cpu();
  m.item_bias = b.detach().cpu();
  return m;
}

std::vector<std::vector<std::int32_t>> recommend_bpr(const BprModel& m, const std::vector<Interaction>& train, int k) {
  torch::NoGradGuard no_grad;
  const auto scores = (m.users.mm(m.items.t()) + m.item_bias.unsqueeze(0)).contiguous();
  const auto s = scores.accessor<float, 2>();
  const auto seen = items_by_user(train, static_cast<std::size_t>(scores.size(0)));
  std::vector<std::vector<std::int32_t>> out;
  for (std::size_t u = 0; u < seen.size(); ++u) {
    out.push_back(best_unseen(
        static_cast<std::size_t>(scores.size(1)), [&](std::int32_t i) { return s[u][i]; }, seen[u], k));
  }
  return out;
}

}  // namespace plotforge::recommendation
