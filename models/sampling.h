// Sampling, one implementation for both programs: `plotforge generate`
// (libtorch) and the runtime (`plotforge-run`) feed their logits to the same
// Sampler and the same Decoding rules, so the same logits and seed give the
// same tokens in both. No libtorch here.
//
// Order, as in common servers: penalties (repetition on prompt and output;
// presence and frequency on the output), temperature (0 = greedy), top-k,
// top-p, min-p, then a draw from the branch's own seeded generator (branch
// i of a request draws from seed + i).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/settings.h"

namespace plotforge {

struct SamplingParams {
  float temperature = 0.8f;
  int top_k = 0;                    // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off; keep tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // > 1 discourages any token already seen
  float presence_penalty = 0.0f;    // subtracted once from tokens already generated
  float frequency_penalty = 0.0f;   // subtracted per occurrence in the output
  std::uint64_t seed = 1337;
  int max_new_tokens = 256;
  int n = 1;  // branches from one prompt
  bool logprobs = false;
  std::vector<std::string> stop;  // stop strings (not included in the text); --stop, repeatable
  std::vector<int> stop_tokens;   // token ids that end a branch like EOS (e.g. <scene>); not an option
  bool ignore_eos = false;        // benchmarks: always run max_new_tokens; not an option
  int top_logprobs = 0;           // with logprobs: the likeliest alternatives per token (servers); not an option

  template <class V>
  void fields(V&& v) {
    v("n", n, "branches from the one prompt (branch i samples with seed + i)");
    v("max-new-tokens", max_new_tokens, "tokens per branch");
    v("temperature", temperature, "0 is greedy");
    v("top-k", top_k, "keep the k likeliest tokens (0: off)");
    v("top-p", top_p, "nucleus sampling mass (1: off)");
    v("min-p", min_p, "keep tokens with p >= min-p * p_max (0: off)");
    v("repetition-penalty", repetition_penalty, "divide the logits of tokens already seen (1: off)");
    v("presence-penalty", presence_penalty, "subtract from tokens already generated (0: off)");
    v("frequency-penalty", frequency_penalty, "subtract per occurrence in the output (0: off)");
    v("seed", seed, "sampling seed");
    v("logprobs", logprobs, "print JSON with per-token log-probabilities and finish reasons", flag());
  }
  // Throws InputError naming the option when a value is out of range.
  void validate() const;
};

class Sampler {
 public:
  Sampler(const SamplingParams& p, std::uint64_t seed) : p_(p), rng_(seed) {}
  // logits: one row of vocab floats (modified in place). seen: prompt and
  // output so far; output_counts: occurrences of each id in the output.
  // logprob: the chosen token's log-probability (at temperature 1, after
  // the penalties); top: the top_logprobs likeliest tokens with theirs.
  int sample(float* logits, int vocab, const std::vector<int>& seen, const std::vector<int>& output_counts,
             float* logprob, std::vector<std::pair<int, float>>* top = nullptr);

 private:
  const SamplingParams& p_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int>> order_;
};

// What one branch generated, and why it stopped.
struct Completion {
  std::vector<int> tokens;  // generated ids (stop string, stop token and EOS excluded)
  std::vector<float> logprobs;
  std::vector<std::vector<std::pair<int, float>>> top_logprobs;  // per token, with top_logprobs > 0
  std::string text;                                              // decoded (cut before a stop string)
  std::string finish_reason;                                     // "eos", "stop", "length" or "context"
};

// The decoding rules of one branch: sample, then stop at EOS or a stop token
// ("eos" / "stop"), at a stop string ("stop"), after max_new_tokens
// ("length"), or when the next position would pass the model's context
// ("context").
class Decoding {
 public:
  using Decode = std::function<std::string(const std::vector<int>&)>;
  // `branch` picks the seed (seed + branch); `decode` turns ids into text.
  Decoding(const SamplingParams& p, int branch, int vocab, int eos_id, int context, Decode decode);

  // Samples the next token from `logits` (vocab floats, changed in place),
  // `seen` being the prompt and output so far and `length` the positions
  // the sequence holds. Returns the token to feed next, or -1 when the
  // branch is done (its finish reason set).
  int advance(float* logits, const std::vector<int>& seen, int length);
  // Ends the branch without a token (max_new_tokens 0).
  void finish(const std::string& reason) { out_.finish_reason = reason; }
  // The completion; its text is decoded here unless a stop string cut it.
  Completion take();
  // What the branch generated so far (its text is not decoded yet).
  const Completion& partial() const { return out_; }

 private:
  const SamplingParams& p_;
  Sampler sampler_;
  int vocab_, eos_id_, context_;
  Decode decode_;
  std::vector<int> counts_;
  Completion out_;
  bool text_cut_ = false;  // a stop string cut out_.text
};

// The note both programs print once, before generating, when the prompt and
// max_new_tokens do not fit in the context ("" when they do). A branch can
// generate context - prompt + 1 tokens: the last one is predicted at the
// context's last position and never fed back.
std::string context_note(int prompt_tokens, int max_new_tokens, int context);

}  // namespace plotforge
