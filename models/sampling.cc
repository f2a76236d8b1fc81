#include "models/sampling.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/error.h"

namespace plotforge {

void SamplingParams::validate() const {
  if (!(temperature >= 0)) throw InputError("--temperature: must be >= 0");
  if (top_k < 0) throw InputError("--top-k: must be >= 0");
  if (!(top_p > 0 && top_p <= 1)) throw InputError("--top-p: must be in (0, 1]");
  if (!(min_p >= 0 && min_p < 1)) throw InputError("--min-p: must be in [0, 1)");
  if (!(repetition_penalty > 0)) throw InputError("--repetition-penalty: must be > 0");
  if (max_new_tokens < 0) throw InputError("--max-new-tokens: must be >= 0");
  if (n < 1) throw InputError("--n: must be at least 1");
}

int Sampler::sample(float* logits, int vocab, const std::vector<int>& seen, const std::vector<int>& output_counts,
                    float* logprob, std::vector<std::pair<int, float>>* top) {
  if (p_.repetition_penalty != 1.0f) {
    for (int t : seen) {
      float& l = logits[t];
      l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    }
  }
  if (p_.presence_penalty != 0 || p_.frequency_penalty != 0) {
    for (int t = 0; t < vocab; ++t) {
      if (output_counts[t] > 0) logits[t] -= p_.presence_penalty + p_.frequency_penalty * output_counts[t];
    }
  }
  // Log-softmax at temperature 1 for the reported log-probability.
  float mx = *std::max_element(logits, logits + vocab);
  double z = 0;
  for (int t = 0; t < vocab; ++t) z += std::exp(static_cast<double>(logits[t] - mx));
  const double log_z = mx + std::log(z);
  if (top && p_.top_logprobs > 0) {
    const int k = std::min(p_.top_logprobs, vocab);
    std::vector<int> ids(vocab);
    for (int t = 0; t < vocab; ++t) ids[t] = t;
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                      [logits](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    top->clear();
    for (int i = 0; i < k; ++i) top->emplace_back(ids[i], static_cast<float>(logits[ids[i]] - log_z));
  }
  int chosen;
  if (p_.temperature == 0) {
    chosen = static_cast<int>(std::max_element(logits, logits + vocab) - logits);
  } else {
    order_.clear();
    for (int t = 0; t < vocab; ++t) order_.emplace_back(logits[t] / p_.temperature, t);
    std::sort(order_.begin(), order_.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    std::size_t keep = order_.size();
    if (p_.top_k > 0) keep = std::min<std::size_t>(keep, static_cast<std::size_t>(p_.top_k));
    const float top = order_[0].first;
    std::vector<double> prob(keep);
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += prob[i] = std::exp(static_cast<double>(order_[i].first - top));
    if (p_.top_p < 1) {
      double cum = 0;
      std::size_t i = 0;
      for (; i < keep; ++i) {
        if (cum >= p_.top_p * total) break;  // the tokens before already cover top_p
        cum += prob[i];
      }
      keep = std::max<std::size_t>(1, i);
    }
    if (p_.min_p > 0) {
      std::size_t i = 1;
      while (i < keep && prob[i] >= p_.min_p * prob[0]) ++i;
      keep = i;
    }
    total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += prob[i];
    double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
    chosen = order_[keep - 1].second;
    for (std::size_t i = 0; i < keep; ++i) {
      if (u < prob[i]) {
        chosen = order_[i].second;
        break;
      }
      u -= prob[i];
    }
  }
  if (logprob) *logprob = static_cast<float>(logits[chosen] - log_z);
  return chosen;
}

Decoding::Decoding(const SamplingParams& p, int branch, int vocab, int eos_id, int context, Decode decode)
    : p_(p),
      sampler_(p, p.seed + static_cast<std::uint64_t>(branch)),
      vocab_(vocab),
      eos_id_(eos_id),
      context_(context),
      decode_(std::move(decode)),
      counts_(vocab, 0) {}

int Decoding::advance(float* logits, const std::vector<int>& seen, int length) {
  float lp = 0;
  std::vector<std::pair<int, float>> top;
  const int t =
      sampler_.sample(logits, vocab_, seen, counts_, p_.logprobs ? &lp : nullptr, p_.logprobs ? &top : nullptr);
  if (t == eos_id_ && !p_.ignore_eos) {
    out_.finish_reason = "eos";
    return -1;
  }
  if (std::find(p_.stop_tokens.begin(), p_.stop_tokens.end(), t) != p_.stop_tokens.end()) {
    out_.finish_reason = "stop";
    return -1;
  }
  out_.tokens.push_back(t);
  if (p_.logprobs) out_.logprobs.push_back(lp);
  if (p_.logprobs && p_.top_logprobs > 0) out_.top_logprobs.push_back(std::move(top));
  ++counts_[t];
  for (const auto& s : p_.stop) {
    if (s.empty()) continue;
    const std::string text = decode_(out_.tokens);
    const std::size_t at = text.find(s);
    if (at != std::string::npos) {
      out_.finish_reason = "stop";
      out_.text = text.substr(0, at);
      text_cut_ = true;
      return -1;
    }
  }
  if (static_cast<int>(out_.tokens.size()) >= p_.max_new_tokens) {
    out_.finish_reason = "length";
    return -1;
  }
  if (length + 1 > context_) {
    out_.finish_reason = "context";
    return -1;
  }
  return t;
}

Completion Decoding::take() {
  if (!text_cut_) out_.text = decode_(out_.tokens);
  return std::move(out_);
}

std::string context_note(int prompt_tokens, int max_new_tokens, int context) {
  // The last token is predicted at the context's last position and never
  // fed back, so context - prompt + 1 tokens fit.
  const int fit = std::max(0, context - prompt_tokens + 1);
  if (max_new_tokens <= fit) return "";
  return "note: the model's context is " + std::to_string(context) + " tokens and the prompt takes " +
         std::to_string(prompt_tokens) + ", so at most " + std::to_string(fit) + " of the " +
         std::to_string(max_new_tokens) +
         " tokens asked for fit; a branch that reaches the context ends with finish reason 'context'";
}

}  // namespace plotforge
