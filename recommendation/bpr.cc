#include "recommendation/bpr.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "base/error.h"
#include "recommendation/split.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

struct BprTrainer::State {
  const std::vector<Interaction>& train;
  std::size_t n_items;
  const ItemFeatures* features;
  BprOptions o;
  torch::Device device;
  torch::nn::Module net;
  torch::Tensor user_emb, item_emb, item_b, feat, feat_emb, feat_b;  // hybrid: feat [I, F], feat_emb [F, f], feat_b [F]
  std::unique_ptr<torch::optim::Adam> adam;
  std::vector<std::vector<std::int32_t>> seen;

  State(const std::vector<Interaction>& t, std::size_t I, const ItemFeatures* f, const BprOptions& opts)
      : train(t), n_items(I), features(f), o(opts), device(opts.device) {}

  std::pair<torch::Tensor, torch::Tensor> item_vectors(const torch::Tensor& idx) const {
    auto v = item_emb.index_select(0, idx);
    auto b = item_b.index_select(0, idx);
    if (features) {
      const auto w = feat.index_select(0, idx);
      v = v + w.mm(feat_emb);
      b = b + w.mv(feat_b);
    }
    return {v, b};
  }
};

BprTrainer::BprTrainer(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                       const ItemFeatures* features, const BprOptions& o)
    : s_(std::make_unique<State>(train, n_items, features, o)) {
  if (o.factors < 1 || o.epochs < 1 || o.batch < 1 || !(o.lr > 0) || o.reg < 0) {
    throw InputError("BPR: --factors, --epochs and --batch must be at least 1, --lr positive, --reg not negative");
  }
  if (train.empty() || n_items < 2) throw InputError("BPR: needs training interactions and at least two items");
  State& s = *s_;
  torch::manual_seed(o.seed);
  const auto f = o.factors;
  const auto U = static_cast<std::int64_t>(n_users), I = static_cast<std::int64_t>(n_items);
  s.user_emb = s.net.register_parameter("user_emb", (torch::randn({U, f}) * 0.01).to(s.device));
  if (features && !o.item_identity) {
    torch::randn({I, f});  // the same draws follow, with or without identities
    s.item_emb = torch::zeros({I, f}).to(s.device);
    s.item_b = torch::zeros({I}).to(s.device);
  } else {
    s.item_emb = s.net.register_parameter("item_emb", (torch::randn({I, f}) * 0.01).to(s.device));
    s.item_b = s.net.register_parameter("item_bias", torch::zeros({I}).to(s.device));
  }
  if (features) {
    const auto F = static_cast<std::int64_t>(features->names.size());
    std::vector<float> flat;
    for (const auto& v : features->vectors) flat.insert(flat.end(), v.begin(), v.end());
    s.feat = torch::from_blob(flat.data(), {I, F}, torch::kFloat32).clone().to(s.device);
    s.feat_emb = s.net.register_parameter("feature_emb", (torch::randn({F, f}) * 0.01).to(s.device));
    s.feat_b = s.net.register_parameter("feature_bias", torch::zeros({F}).to(s.device));
  }
  s.adam = std::make_unique<torch::optim::Adam>(s.net.parameters(), torch::optim::AdamOptions(o.lr));
  s.seen = items_by_user(train, n_users);
}

BprTrainer::~BprTrainer() = default;
torch::nn::Module& BprTrainer::module() { return s_->net; }
torch::optim::Optimizer& BprTrainer::optimizer() { return *s_->adam; }

double BprTrainer::run_epoch() {
  State& s = *s_;
  const BprOptions& o = s.o;
  ++epoch_;
  std::seed_seq seq{static_cast<std::uint32_t>(o.seed), static_cast<std::uint32_t>(o.seed >> 32),
                    static_cast<std::uint32_t>(epoch_)};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<std::size_t> pick_row(0, s.train.size() - 1);
  std::uniform_int_distribution<std::int64_t> pick_item(0, static_cast<std::int64_t>(s.n_items) - 1);
  const long steps = static_cast<long>((s.train.size() + o.batch - 1) / o.batch);
  double total = 0;
  for (long step = 0; step < steps; ++step) {
    std::vector<std::int64_t> us(o.batch), is(o.batch), js(o.batch);
    for (int b = 0; b < o.batch; ++b) {
      const Interaction& r = s.train[pick_row(rng)];
      us[b] = r.user;
      is[b] = r.item;
      std::int64_t j;
      do {
        j = pick_item(rng);
      } while (std::binary_search(s.seen[r.user].begin(), s.seen[r.user].end(), static_cast<std::int32_t>(j)));
      js[b] = j;
    }
    auto opt64 = torch::TensorOptions().dtype(torch::kInt64);
    const auto u = torch::tensor(us, opt64).to(s.device), i = torch::tensor(is, opt64).to(s.device),
               j = torch::tensor(js, opt64).to(s.device);
    const auto xu = s.user_emb.index_select(0, u);
    const auto [yi, bi] = s.item_vectors(i);
    const auto [yj, bj] = s.item_vectors(j);
    const auto diff = (xu * (yi - yj)).sum(1) + bi - bj;
    auto loss =
        -torch::log_sigmoid(diff).mean() +
        o.reg * (xu.pow(2).sum() + yi.pow(2).sum() + yj.pow(2).sum() + bi.pow(2).sum() + bj.pow(2).sum()) / o.batch;
    s.adam->zero_grad();
    loss.backward();
    s.adam->step();
    total += loss.item<double>();
  }
  return total / steps;
}

BprModel BprTrainer::model() const {
  torch::NoGradGuard no_grad;
  BprModel m;
  m.users = s_->user_emb.detach().cpu();
  const auto all =
      torch::arange(static_cast<std::int64_t>(s_->n_items), torch::TensorOptions().dtype(torch::kInt64)).to(s_->device);
  const auto [v, b] = s_->item_vectors(all);
  m.items = v.detach().cpu();
  m.item_bias = b.detach().cpu();
  return m;
}

BprModel train_bpr(const std::vector<Interaction>& train, std::size_t n_users, std::size_t n_items,
                   const ItemFeatures* features, const BprOptions& o,
                   const std::function<void(int, double)>& progress) {
  BprTrainer t(train, n_users, n_items, features, o);
  while (t.epoch() < o.epochs) {
    const double loss = t.run_epoch();
    if (progress) progress(t.epoch(), loss);
  }
  return t.model();
}

}  // namespace plotforge::recommendation
