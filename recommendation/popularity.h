// The popularity baseline: every user is recommended the items most users
// interacted with in training (ties to the lower item index), minus the
// items they already have.
#pragma once

#include <cstdint>
#include <vector>

#include "recommendation/interactions.h"

namespace plotforge::recommendation {

std::vector<std::vector<std::int32_t>> recommend_popular(const std::vector<Interaction>& train, std::size_t n_users,
                                                         std::size_t n_items, int k);

}  // namespace plotforge::recommendation
