#include "inference/generate.h"

#include "datasets/error.h"

namespace plotforge::runtime {

std::vector<Completion> generate(Engine& engine, const std::vector<int>& prompt, const SamplingParams& p,
                                 int prefill_chunk) {
  p.validate();
  if (prompt.empty()) throw InputError("the prompt is empty");
  const Model& model = engine.model();
  const int vocab = model.config().vocab, context = model.config().context;
  if (static_cast<int>(prompt.size()) >= context) {
    throw InputError("the prompt has " + std::to_string(prompt.size()) + " tokens; the model's context is " +
                     std::to_string(context));
  }
  BlockPool& pool = engine.pool();
  Sequence root;
  std::vector<float> logits;
  for (std::size_t start = 0; start < prompt.size(); start += prefill_chunk) {
    std::vector<BatchItem> batch(1);
    batch[0].seq = &root;
    batch[0].tokens.assign(prompt.begin() + start, prompt.begin() + std::min(prompt.size(), start + prefill_chunk));
    logits = engine.forward(batch);
  }
  struct Branch {
    Sequence seq;
    Sampler sampler;
    std::vector<int> counts;
    Completion out;
    bool done = false;
  };
  std::vector<Branch> branches;
  branches.reserve(p.n);
  for (int b = 0; b < p.n; ++b) {
    branches.push_back({fork(pool, root), Sampler(p, p.seed + static_cast<std::uint64_t>(b)), std::vector<int>(vocab, 0), {}, false});
  }
  free_sequence(pool, root);
  std::vector<std::vector<float>> row(p.n, logits);
  for (int step = 0; step < p.max_new_tokens; ++step) {
    std::vector<BatchItem> batch;
    std::vector<int> which;
    for (int b = 0; b < p.n; ++b) {
      Branch& br = branches[b];
      if (br.done) continue;
      float lp = 0;
      const int t = br.sampler.sample(row[b].data(), vocab, br.seq.tokens, br.counts, p.logprobs ? &lp : nullptr);
      if (t == model.config().eos_id) {
        br.done = true;
        br.out.finish_reason = "eos";
        continue;
      }
      br.out.tokens.push_back(t);
      if (p.logprobs) br.out.logprobs.push_back(lp);
      ++br.counts[t];
      if (!p.stop.empty()) {
        const std::string text = model.tokenizer().decode(br.out.tokens);
        for (const auto& s : p.stop) {
          const std::size_t at = text.find(s);
          if (!s.empty() && at != std::string::npos) {
            br.done = true;
            br.out.finish_reason = "stop";
            br.out.text = text.substr(0, at);
          }
        }
        if (br.done) continue;
      }
      if (step + 1 == p.max_new_tokens) {
        br.done = true;
        br.out.finish_reason = "length";
        continue;
      }
      if (br.seq.length() + 1 > context) {
        br.done = true;
        br.out.finish_reason = "context";
        continue;
      }
      batch.push_back({&br.seq, {t}, false});
      which.push_back(b);
    }
    if (batch.empty()) break;
    const std::vector<float> out = engine.forward(batch);
    for (std::size_t i = 0; i < which.size(); ++i) {
      row[which[i]].assign(out.begin() + static_cast<std::ptrdiff_t>(i) * vocab,
                           out.begin() + static_cast<std::ptrdiff_t>(i + 1) * vocab);
    }
  }
  std::vector<Completion> result;
  for (auto& br : branches) {
    if (br.out.finish_reason.empty()) br.out.finish_reason = "length";
    if (br.out.finish_reason != "stop") br.out.text = model.tokenizer().decode(br.out.tokens);
    free_sequence(pool, br.seq);
    result.push_back(std::move(br.out));
  }
  return result;
}

}  // namespace plotforge::runtime
