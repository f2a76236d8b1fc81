#include "models/generate.h"

#include <algorithm>

#include <torch/torch.h>

#include "base/error.h"

namespace plotforge {

std::vector<Completion> generate(Transformer& model, const std::vector<int>& prompt, const SamplingParams& p,
                                 int eos_id, const Decoding::Decode& decode, const Conditioning* cond) {
  p.validate();
  if (prompt.empty()) throw InputError("generate: the prompt is empty");
  if (!p.stop.empty() && !decode) throw InputError("generate: stop strings need a tokenizer to decode with");
  const int context = model->config().context;
  const int vocab = model->config().vocab_size;
  if (static_cast<int>(prompt.size()) >= context) {
    throw InputError("generate: the prompt has " + std::to_string(prompt.size()) + " tokens; the model's context is " +
                     std::to_string(context));
  }
  const Decoding::Decode text_of = decode ? decode : [](const std::vector<int>&) { return std::string(); };
  torch::NoGradGuard no_grad;
  model->eval();
  const auto device = model->embed_tokens->weight.device();
  const int B = p.n;
  const int capacity = std::min<int>(context, static_cast<int>(prompt.size()) + std::max(1, p.max_new_tokens));
  KVCache cache = model->make_cache(B, capacity);
  std::vector<Decoding> branches;
  std::vector<std::vector<int>> seen(B, prompt);
  std::vector<bool> done(B, false);
  for (int b = 0; b < B; ++b) branches.emplace_back(p, b, vocab, eos_id, context, text_of);
  if (p.max_new_tokens == 0) {
    for (auto& d : branches) d.finish("length");
    std::fill(done.begin(), done.end(), true);
  }
  std::vector<std::int64_t> p64(prompt.begin(), prompt.end());
  auto logits = model->forward(torch::tensor(p64, torch::kInt64).unsqueeze(0).repeat({B, 1}).to(device), &cache, cond)
                    .select(1, -1);
  std::vector<std::int64_t> next(B, 0);
  while (std::find(done.begin(), done.end(), false) != done.end()) {
    const auto rows = logits.to(torch::kFloat32).cpu().contiguous();
    for (int b = 0; b < B; ++b) {
      if (done[b]) continue;
      std::vector<float> row(rows[b].data_ptr<float>(), rows[b].data_ptr<float>() + vocab);
      const int t = branches[b].advance(row.data(), seen[b], static_cast<int>(seen[b].size()));
      if (t < 0) {
        done[b] = true;
        continue;
      }
      seen[b].push_back(t);
      next[b] = t;  // finished rows keep feeding their last token; their logits go unread
    }
    if (std::find(done.begin(), done.end(), false) == done.end()) break;
    logits = model->forward(torch::tensor(next, torch::kInt64).unsqueeze(1).to(device), &cache, cond).select(1, -1);
  }
  std::vector<Completion> out;
  for (auto& d : branches) out.push_back(d.take());
  return out;
}

}  // namespace plotforge
