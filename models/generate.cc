#include "models/generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>

#include "datasets/error.h"

namespace plotforge {

torch::Tensor sample_next(const torch::Tensor& logits_in, const SampleOptions& o, at::Generator& gen) {
  auto logits = logits_in.to(torch::kFloat32).cpu();
  if (o.temperature <= 0) return logits.argmax(-1);
  logits = logits / o.temperature;
  if (o.top_k > 0 && o.top_k < logits.size(-1)) {
    const auto kth = std::get<0>(logits.topk(o.top_k, -1)).narrow(-1, o.top_k - 1, 1);
    logits = logits.masked_fill(logits < kth, -INFINITY);
  }
  if (o.top_p < 1.0f) {
    const auto sorted = logits.sort(-1, /*descending=*/true);
    const auto& values = std::get<0>(sorted);
    const auto& order = std::get<1>(sorted);
    const auto cum = values.softmax(-1).cumsum(-1);
    // Drop a token when the tokens before it already cover top_p.
    auto drop = (cum - values.softmax(-1)) > o.top_p;
    const auto mask = torch::zeros_like(drop).scatter(-1, order, drop);
    logits = logits.masked_fill(mask, -INFINITY);
  }
  return torch::multinomial(logits.softmax(-1), 1, false, gen).squeeze(-1);
}

std::vector<std::vector<int>> generate(Transformer& model, const std::vector<int>& prompt, const SampleOptions& o,
                                       const Conditioning* cond) {
  if (prompt.empty()) throw InputError("generate: the prompt is empty");
  if (o.num_samples < 1) throw InputError("--num-samples: must be at least 1");
  if (o.max_new_tokens < 0) throw InputError("--max-new-tokens: must not be negative");
  if (o.top_p <= 0 || o.top_p > 1) throw InputError("--top-p: must be in (0, 1]");
  const int context = model->config().context;
  if (static_cast<int>(prompt.size()) >= context) {
    throw InputError("generate: the prompt has " + std::to_string(prompt.size()) +
                     " tokens; the model's context is " + std::to_string(context));
  }
  torch::NoGradGuard no_grad;
  model->eval();
  const auto device = model->embed_tokens->weight.device();
  const int B = o.num_samples;
  const int capacity = std::min<int>(context, static_cast<int>(prompt.size()) + o.max_new_tokens);
  // Past the context the window slides: the cache is rebuilt from the last
  // three quarters of the context, so positions stay within what the model
  // was trained on while most of the recent text stays in view.
  const int keep = std::max(1, context * 3 / 4);
  KVCache cache = model->make_cache(B, capacity);
  std::vector<std::int64_t> p64(prompt.begin(), prompt.end());
  auto history = torch::tensor(p64, torch::kInt64).unsqueeze(0).repeat({B, 1}).to(device);
  at::Generator gen = at::detail::createCPUGenerator(o.seed);
  std::vector<std::vector<int>> out(B);
  std::vector<bool> done(B, false);
  auto logits = model->forward(history, &cache, cond).select(1, -1);
  for (int t = 0; t < o.max_new_tokens; ++t) {
    const auto next = sample_next(logits, o, gen);
    const auto acc = next.accessor<std::int64_t, 1>();
    bool all_done = true;
    for (int b = 0; b < B; ++b) {
      if (done[b]) continue;
      if (std::find(o.stop_tokens.begin(), o.stop_tokens.end(), acc[b]) != o.stop_tokens.end()) {
        done[b] = true;
      } else {
        out[b].push_back(static_cast<int>(acc[b]));
      }
      all_done = all_done && done[b];
    }
    if (all_done || t + 1 == o.max_new_tokens) break;
    const auto step = next.unsqueeze(1).to(device);
    history = torch::cat({history, step}, 1);
    if (cache.length < capacity) {
      logits = model->forward(step, &cache, cond).select(1, -1);
    } else {
      cache = model->make_cache(B, capacity);
      logits = model->forward(history.narrow(1, history.size(1) - keep, keep), &cache, cond).select(1, -1);
    }
  }
  return out;
}

}  // namespace plotforge
