// A trained matrix-factorisation model, as ALS and BPR (and the hybrid)
// both leave it: a user's score for item i is users[u] . items[i] +
// item_bias[i].
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "recommendation/interactions.h"

namespace plotforge::recommendation {

struct FactorModel {
  torch::Tensor users, items;  // [U, f], [I, f], float32 on the CPU
  torch::Tensor item_bias;     // [I]; undefined when there is none (ALS)
};

// Each user's top k by score, their training items excluded.
std::vector<std::vector<std::int32_t>> recommend_factors(const FactorModel& m, const std::vector<Interaction>& train,
                                                         int k);

}  // namespace plotforge::recommendation
