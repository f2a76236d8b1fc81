// Generation on the runtime: prefill the prompt once (in chunks), branch it
// into n sequences that share its KV blocks, and decode them as one batch.
#pragma once

#include <string>
#include <vector>

#include "inference/engine.h"
#include "models/sampling.h"

namespace plotforge::runtime {

// With `latent`, a VAE bundle decodes under that code; with `adapter`, the
// model runs with that LoRA adapter (inference/adapter.h).
std::vector<Completion> generate(Engine& engine, const std::vector<int>& prompt, const SamplingParams& p,
                                 int prefill_chunk = 256, std::shared_ptr<const LatentCondition> latent = nullptr,
                                 std::shared_ptr<const Adapter> adapter = nullptr);

}  // namespace plotforge::runtime
