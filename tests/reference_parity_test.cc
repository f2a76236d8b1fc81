// The C++ model against the PyTorch reference (scripts/reference/model.py):
// same weights give the same logits and loss, and one AdamW step (with
// clipping and the trainer's weight-decay groups) gives the same parameters.
// Runs the reference under Debian's python3 with python3-torch.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include "models/transformer.h"
#include "tests/test_util.h"
#include "training/optimizer.h"

namespace plotforge {
namespace {

void save(const std::string& path, const c10::IValue& value) {
  const std::vector<char> bytes = torch::pickle_save(value);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void check_parity(bool tie, int kv_heads) {
  TransformerConfig c;
  c.vocab_size = 97;
  c.dim = 48;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = kv_heads;
  c.context = 32;
  c.tie_embeddings = tie;
  torch::manual_seed(7);
  Transformer model(c);
  const std::string dir = testing::temp_dir("parity-" + std::to_string(tie) + std::to_string(kv_heads));

  c10::Dict<std::string, torch::Tensor> params;
  for (const auto& p : model->named_parameters()) params.insert(p.key(), p.value().detach().clone());
  save(dir + "/params.pt", params);
  const auto x = torch::randint(0, c.vocab_size, {3, 20}, torch::kInt64);
  const auto y = torch::randint(0, c.vocab_size, {3, 20}, torch::kInt64);
  c10::Dict<std::string, torch::Tensor> batch;
  batch.insert("x", x);
  batch.insert("y", y);
  save(dir + "/batch.pt", batch);

  // A large eps keeps the first Adam step (about lr * g / (|g| + eps))
  // well-conditioned for tiny gradients, so a 1e-6 tolerance can see the
  // weight-decay term (lr * wd * |p|, about 6e-6 here).
  const AdamWSettings s{3e-3, 0.9, 0.95, 1e-3, 0.1};
  auto optimizer = make_adamw(model, s);
  const auto logits = model->forward(x);
  const auto loss = torch::nn::functional::cross_entropy(logits.view({-1, c.vocab_size}), y.view(-1));
  loss.backward();
  const double norm = torch::nn::utils::clip_grad_norm_(model->parameters(), 0.5);
  optimizer->step();

  c10::Dict<std::string, torch::Tensor> out;
  out.insert("logits", logits.detach());
  out.insert("loss", loss.detach());
  out.insert("grad_norm", torch::tensor(norm));
  for (const auto& p : model->named_parameters()) out.insert("after." + p.key(), p.value().detach().clone());
  save(dir + "/cpp.pt", out);
  std::ofstream(dir + "/config.json") << nlohmann::json{
      {"vocab_size", c.vocab_size},
      {"dim", c.dim},
      {"n_layers", c.n_layers},
      {"n_heads", c.n_heads},
      {"n_kv_heads", c.n_kv_heads},
      {"context", c.context},
      {"rope_theta", c.rope_theta},
      {"norm_eps", c.norm_eps},
      {"tie_embeddings", c.tie_embeddings}}.dump();
  std::ofstream(dir + "/optim.json") << nlohmann::json{
      {"lr", s.lr},      {"beta1", s.beta1}, {"beta2", s.beta2}, {"eps", s.eps}, {"weight_decay", s.weight_decay},
      {"grad_clip", 0.5}}.dump();
  const std::string python = testing::python_with("torch");
  ASSERT_FALSE(python.empty()) << "no python3 with torch: run scripts/setup.sh (Debian's python3-torch)";
  const auto r = testing::run(python + " " + std::string(PLOTFORGE_SOURCE_DIR) + "/scripts/reference/parity.py " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;
}

TEST(ReferenceParity, UntiedWithGroupedQueryAttention) { check_parity(false, 2); }
TEST(ReferenceParity, TiedEmbeddings) { check_parity(true, 0); }

}  // namespace
}  // namespace plotforge
