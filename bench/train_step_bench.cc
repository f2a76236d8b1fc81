// One training step of the shakespeare-char model on random tokens, timed:
// the harness behind the step-time figures in docs/perf/training-cpu.md.
//
// usage: train_step_bench [STEPS] [--ops] [--bf16]   (default 30, after 5 warm-up steps)
//   --ops   also runs STEPS steps under libtorch's profiler and prints each
//           operator's self time per step (time not spent in operators it
//           called), largest first: where a step goes.
//   --bf16  the linear maps as bf16 products (models/projection.h), as
//           `plotforge train --cpu-matmul bf16`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "base/heap.h"
#include "models/projection.h"
#include "models/transformer.h"
#include "training/optimizer.h"

namespace {

// Self time per operator name, from the legacy profiler's push/pop ranges
// (nested: an operator's self time excludes the operators it called).
template <typename Step>
void print_op_times(int steps, Step& step) {
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  for (int i = 0; i < steps; ++i) step();
  const thread_event_lists lists = disableProfilerLegacy();
  std::map<std::string, std::pair<double, long>> self;  // name -> (us, calls)
  double total = 0;
  for (const auto& events : lists) {
    std::vector<std::pair<const LegacyEvent*, double>> open;  // event, child time
    for (const auto& e : events) {
      if (e.kind() == EventKind::PushRange) {
        open.push_back({&e, 0.0});
      } else if (e.kind() == EventKind::PopRange && !open.empty()) {
        const auto [start, children] = open.back();
        open.pop_back();
        const double us = start->cpuElapsedUs(e);
        auto& slot = self[start->name()];
        slot.first += us - children;
        slot.second += 1;
        if (open.empty())
          total += us;
        else
          open.back().second += us;
      }
    }
  }
  std::vector<std::pair<std::string, std::pair<double, long>>> rows(self.begin(), self.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::printf("operators, self time per step (total inside operators: %.1f ms per step)\n", total / 1000 / steps);
  for (const auto& [name, v] : rows) {
    if (v.first / steps < 50) break;  // under 0.05 ms per step
    std::printf("%9.2f ms %6.1f calls  %s\n", v.first / 1000 / steps, double(v.second) / steps, name.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 30;
  bool ops = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ops") == 0) ops = true;
    if (std::strcmp(argv[i], "--bf16") == 0) plotforge::set_cpu_matmul(plotforge::CpuMatmul::kBFloat16);
  }
  plotforge::keep_freed_memory();  // as plotforge train does
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
    plotforge::clip_grad_norm(model->parameters(), 1.0);
    opt->step();
    opt->zero_grad();
    return loss.item<double>();
  };
  for (int i = 0; i < 5; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
  std::printf("shakespeare-char training step (batch 12 x 64, %d threads, %s products): %.1f ms\n",
              torch::get_num_threads(), plotforge::cpu_matmul() == plotforge::CpuMatmul::kBFloat16 ? "bf16" : "fp32",
              ms);
  if (ops) print_op_times(steps, step);
  return 0;
}
