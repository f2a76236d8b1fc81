#include "recommendation/popularity.h"

#include <algorithm>
#include <numeric>

#include "recommendation/split.h"

namespace plotforge::recommendation {

std::vector<std::vector<std::int32_t>> recommend_popular(const std::vector<Interaction>& train, std::size_t n_users,
                                                         std::size_t n_items, int k) {
  std::vector<long> count(n_items, 0);
  for (const auto& r : train) ++count[r.item];
  std::vector<std::int32_t> order(n_items);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return count[a] > count[b]; });
  const auto seen = items_by_user(train, n_users);
  std::vector<std::vector<std::int32_t>> out(n_users);
  for (std::size_t u = 0; u < n_users; ++u) {
    for (std::int32_t item : order) {
      if (static_cast<int>(out[u].size()) == k) break;
      if (!std::binary_search(seen[u].begin(), seen[u].end(), item)) out[u].push_back(item);
    }
  }
  return out;
}

}  // namespace plotforge::recommendation
