// The one ranking step of every recommender: a user's k best items by
// score (ties to the lower index), the items they already have left out.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace plotforge::recommendation {

// `seen`: the user's training items, sorted.
std::vector<std::int32_t> best_unseen(std::size_t n_items, const std::function<double(std::int32_t)>& score,
                                      const std::vector<std::int32_t>& seen, int k);

}  // namespace plotforge::recommendation
