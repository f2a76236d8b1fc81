// plotforge's AdamW step (one loop per parameter, training/optimizer.h)
// against torch's own AdamW, and its gradient clipping against
// torch::nn::utils::clip_grad_norm_.
#include "training/optimizer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/torch_compat.h"

namespace plotforge {
namespace {

struct Params {
  std::vector<torch::Tensor> decay, no_decay;
  std::vector<torch::Tensor> all() const {
    auto a = decay;
    a.insert(a.end(), no_decay.begin(), no_decay.end());
    return a;
  }
};

Params make_params(torch::Dtype dtype) {
  torch::manual_seed(3);
  Params p;
  p.decay = {torch::randn({7, 5}, dtype).requires_grad_(), torch::randn({3, 17}, dtype).requires_grad_()};
  p.no_decay = {torch::randn({13}, dtype).requires_grad_()};
  return p;
}

// Five steps with the same gradients and a changing learning rate; one
// parameter gets no gradient on the third step.
void train(torch::optim::Optimizer& opt, const Params& p, torch::Dtype dtype) {
  torch::manual_seed(4);
  for (int step = 0; step < 5; ++step) {
    set_learning_rate(opt, 1e-2 / (step + 1));
    for (auto& t : p.all()) t.mutable_grad() = torch::randn(t.sizes(), dtype);
    if (step == 2) p.no_decay[0].mutable_grad() = torch::Tensor();
    opt.step();
  }
}

TEST(AdamW, TheLoopStepMatchesTorchsAdamW) {
  const AdamWSettings s{1e-2, 0.9, 0.99, 1e-8, 0.1};
  const Params ours = make_params(torch::kFloat32), theirs = make_params(torch::kFloat32);
  auto opt = make_adamw(ours.decay, ours.no_decay, s);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(theirs.decay,
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(s.lr).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1)));
  groups.emplace_back(theirs.no_decay,
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(s.lr).betas({0.9, 0.99}).eps(1e-8).weight_decay(0)));
  torch::optim::AdamW reference(groups, torch::optim::AdamWOptions(s.lr));
  train(*opt, ours, torch::kFloat32);
  train(reference, theirs, torch::kFloat32);
  for (std::size_t i = 0; i < ours.all().size(); ++i) {
    const auto a = ours.all()[i], b = theirs.all()[i];
    EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-7)) << "parameter " << i << ": " << (a - b).abs().max().item<float>();
    EXPECT_FALSE(torch::equal(a, make_params(torch::kFloat32).all()[i]));  // it moved
    const auto& sa =
        static_cast<torch::optim::AdamWParamState&>(*opt->state().at(compat::optimizer_state_key(opt->state(), a)));
    const auto& sb = static_cast<torch::optim::AdamWParamState&>(
        *reference.state().at(compat::optimizer_state_key(reference.state(), b)));
    EXPECT_EQ(sa.step(), sb.step());
    EXPECT_TRUE(torch::allclose(sa.exp_avg(), sb.exp_avg(), 1e-6, 1e-8));
    EXPECT_TRUE(torch::allclose(sa.exp_avg_sq(), sb.exp_avg_sq(), 1e-6, 1e-10));
  }
  // float64 parameters take torch's own step: equal bit for bit.
  const Params ours64 = make_params(torch::kFloat64), theirs64 = make_params(torch::kFloat64);
  auto opt64 = make_adamw(ours64.decay, ours64.no_decay, s);
  auto ref64 = make_adamw(theirs64.decay, theirs64.no_decay, s);
  train(*opt64, ours64, torch::kFloat64);
  torch::optim::AdamW& plain = *ref64;
  train(plain, theirs64, torch::kFloat64);
  for (std::size_t i = 0; i < ours64.all().size(); ++i) EXPECT_TRUE(torch::equal(ours64.all()[i], theirs64.all()[i]));
}

TEST(AdamW, ClipGradNormMatchesTorchs) {
  for (const double max_norm : {0.5, 1e6, 0.0}) {
    const Params ours = make_params(torch::kFloat32), theirs = make_params(torch::kFloat32);
    torch::manual_seed(9);
    for (std::size_t i = 0; i < ours.all().size(); ++i) {
      ours.all()[i].mutable_grad() = torch::randn(ours.all()[i].sizes());
      theirs.all()[i].mutable_grad() = ours.all()[i].grad().clone();
    }
    const double norm = clip_grad_norm(ours.all(), max_norm);
    double want = 0;
    for (const auto& t : theirs.all()) want += t.grad().pow(2).sum().item<double>();
    want = std::sqrt(want);
    EXPECT_NEAR(norm, want, 1e-5 * want);
    if (max_norm > 0) torch::nn::utils::clip_grad_norm_(theirs.all(), max_norm);
    for (std::size_t i = 0; i < ours.all().size(); ++i)
      EXPECT_TRUE(torch::allclose(ours.all()[i].grad(), theirs.all()[i].grad(), 1e-5, 1e-7)) << "max_norm " << max_norm;
    if (max_norm == 0.5)
      EXPECT_NEAR(std::sqrt(ours.all()[0].grad().pow(2).sum().item<double>() +
                            ours.all()[1].grad().pow(2).sum().item<double>() +
                            ours.all()[2].grad().pow(2).sum().item<double>()),
                  0.5, 1e-5);
  }
}

}  // namespace
}  // namespace plotforge
