// One training step of the shakespeare-char model on random tokens, timed:
// the harness behind the step-time figures in docs/perf/training-cpu.md.
//
// usage: train_step_bench [STEPS]      (default 30, after 5 warm-up steps)
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <torch/torch.h>

#include "models/transformer.h"
#include "training/optimizer.h"

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 30;
  plotforge::TransformerConfig c;
  c.vocab_size = 87;
  c.dim = 128;
  c.n_layers = 4;
  c.n_heads = 4;
  c.context = 64;
  c.tie_embeddings = true;
  torch::manual_seed(0);
  plotforge::Transformer model(c);
  auto opt = plotforge::make_adamw(model, plotforge::AdamWSettings{1e-3, 0.9, 0.99, 1e-8, 0.1});
  const auto x = torch::randint(0, c.vocab_size, {12, c.context}, torch::kInt64);
  const auto y = torch::randint(0, c.vocab_size, {12, c.context}, torch::kInt64);
  auto step = [&] {
    const auto logits = model->forward(x);
    const auto loss = torch::nn::functional::cross_entropy(logits.view({-1, c.vocab_size}), y.view(-1));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt->step();
    opt->zero_grad();
    return loss.item<double>();
  };
  for (int i = 0; i < 5; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
  std::printf("shakespeare-char training step (batch 12 x 64, %d threads): %.1f ms\n", torch::get_num_threads(), ms);
  return 0;
}
