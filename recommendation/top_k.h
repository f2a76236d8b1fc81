// The one ranking step of the factor models: each user's k best items by
// score, their training items left out.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "recommendation/interactions.h"

namespace plotforge::recommendation {

// scores: [users, items] float32 on the CPU.
std::vector<std::vector<std::int32_t>> top_k_unseen(const torch::Tensor& scores, const std::vector<Interaction>& train,
                                                    int k);

}  // namespace plotforge::recommendation
