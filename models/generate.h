// Sampling from the Transformer with an incremental KV cache: the prompt is
// prefilled once, then each new token costs one position, not a re-run of
// the prefix. The p.n branches of one prompt run as one batch. Sampling and
// stopping follow the rules both programs share (models/sampling.h), so
// `plotforge generate` and `plotforge-run generate` give the same tokens for
// the same model and seed.
#pragma once

#include <vector>

#include "models/sampling.h"
#include "models/transformer.h"

namespace plotforge {

// Returns p.n completions of `prompt` (branch i samples with seed + i); each
// ends at EOS (`eos_id`; -1: none), a stop token or string, after
// max_new_tokens, or when the next token would pass the model's context
// (finish reason "context"). `decode` turns ids into text for stop strings
// and Completion::text (may be empty when p.stop is). With `cond` (a latent
// model's conditioning, batch p.n), branch i is decoded under row i of it.
std::vector<Completion> generate(Transformer& model, const std::vector<int>& prompt, const SamplingParams& p,
                                 int eos_id, const Decoding::Decode& decode, const Conditioning* cond = nullptr);

}  // namespace plotforge
