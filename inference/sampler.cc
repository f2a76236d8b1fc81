#include "inference/sampler.h"

#include <algorithm>
#include <cmath>

#include "datasets/error.h"

namespace plotforge::runtime {

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
                    float* logprob) {
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
  int chosen;
  if (p_.temperature == 0) {
    chosen = static_cast<int>(std::max_element(logits, logits + vocab) - logits);
  } else {
    order_.clear();
    for (int t = 0; t < vocab; ++t) order_.emplace_back(logits[t] / p_.temperature, t);
    std::sort(order_.begin(), order_.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
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

}  // namespace plotforge::runtime
