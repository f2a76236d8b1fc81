#include "recommendation/popularity.h"

#include <algorithm>
#include <numeric>

#include "recommendation/split.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

std::vector<std::vector<std::int32_t>> recommend_popular(const std::vector<Interaction>& train, std::size_t n_users,
                                                         std::size_t n_items, int k) {
  std::vector<long> count(n_items, 0);
  for (const auto& r : train) ++count[r.item];
  const auto seen = items_by_user(train, n_users);
  std::vector<std::vector<std::int32_t>> out;
  for (std::size_t u = 0; u < n_users; ++u) {
    out.push_back(best_unseen(
        n_items, [&](std::int32_t i) { return static_cast<double>(count[i]); }, seen[u], k));
  }
  return out;
}

}  // namespace plotforge::recommendation
