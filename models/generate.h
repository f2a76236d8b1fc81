// Sampling from the Transformer with an incremental KV cache: the prompt is
// prefilled once, then each new token costs one position, not a re-run of
// the prefix. Samples of one prompt run as one batch.
#pragma once

#include <cstdint>
#include <vector>

#include "models/transformer.h"

namespace plotforge {

struct SampleOptions {
  int max_new_tokens = 500;
  float temperature = 0.8f;  // 0: greedy
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  std::uint64_t seed = 1337;
  int num_samples = 1;
  int stop_token = -1;  // e.g. EOS; -1: none
};

// Returns num_samples continuations (without the prompt), each ending before
// stop_token or after max_new_tokens. Past the model's context the window
// slides (the cache is rebuilt from the most recent tokens). The same seed
// gives the same tokens.
std::vector<std::vector<int>> generate(Transformer& model, const std::vector<int>& prompt, const SampleOptions& o);

// Picks one token per row of logits [B, vocab] (exposed for tests).
torch::Tensor sample_next(const torch::Tensor& logits, const SampleOptions& o, at::Generator& gen);

}  // namespace plotforge
