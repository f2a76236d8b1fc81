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
  std::vector<int> stop_tokens;  // e.g. EOS, or <scene> to end a scene
};

// Returns num_samples continuations (without the prompt), each ending before
// a stop token or after max_new_tokens. Past the model's context the window
// slides (the cache is rebuilt from the most recent tokens). The same seed
// gives the same tokens.
// With `cond` (a latent model's conditioning, batch num_samples), row i is
// decoded under row i of it.
std::vector<std::vector<int>> generate(Transformer& model, const std::vector<int>& prompt, const SampleOptions& o,
                                       const Conditioning* cond = nullptr);

// Picks one token per row of logits [B, vocab] (exposed for tests).
torch::Tensor sample_next(const torch::Tensor& logits, const SampleOptions& o, at::Generator& gen);

}  // namespace plotforge
