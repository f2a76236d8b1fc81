// Per-request sampling for the runtime. Order, as in common servers:
// penalties (repetition on prompt and output; presence and frequency on the
// output), temperature (0 = greedy), top-k, top-p, min-p, then a draw from
// the request's own seeded generator.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace plotforge::runtime {

struct SamplingParams {
  float temperature = 0.8f;
  int top_k = 0;               // 0: off
  float top_p = 1.0f;          // 1: off
  float min_p = 0.0f;          // 0: off; keep tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // > 1 discourages any token already seen
  float presence_penalty = 0.0f;    // subtracted once from tokens already generated
  float frequency_penalty = 0.0f;   // subtracted per occurrence in the output
  std::uint64_t seed = 1337;
  int max_new_tokens = 256;
  std::vector<std::string> stop;  // stop strings (not included in the text)
  int n = 1;                      // branches from one prompt
  bool logprobs = false;
  bool ignore_eos = false;  // benchmarks: always run max_new_tokens

  // Throws InputError naming the option when a value is out of range.
  void validate() const;
};

class Sampler {
 public:
  Sampler(const SamplingParams& p, std::uint64_t seed) : p_(p), rng_(seed) {}
  // logits: one row of vocab floats (modified in place). seen: prompt and
  // output so far; output_counts: occurrences of each id in the output.
  int sample(float* logits, int vocab, const std::vector<int>& seen, const std::vector<int>& output_counts,
             float* logprob);

 private:
  const SamplingParams& p_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int>> order_;
};

}  // namespace plotforge::runtime
