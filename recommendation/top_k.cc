#include "recommendation/top_k.h"

#include <algorithm>
#include <numeric>

#include "recommendation/split.h"

namespace plotforge::recommendation {

std::vector<std::vector<std::int32_t>> top_k_unseen(const torch::Tensor& scores, const std::vector<Interaction>& train,
                                                    int k) {
  const auto c = scores.contiguous();
  const auto n_users = static_cast<std::size_t>(c.size(0)), n_items = static_cast<std::size_t>(c.size(1));
  auto s = c.accessor<float, 2>();
  const auto seen = items_by_user(train, n_users);
  std::vector<std::vector<std::int32_t>> out(n_users);
  std::vector<std::int32_t> order(n_items);
  for (std::size_t u = 0; u < n_users; ++u) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return s[u][a] > s[u][b]; });
    for (std::int32_t item : order) {
      if (static_cast<int>(out[u].size()) == k) break;
      if (!std::binary_search(seen[u].begin(), seen[u].end(), item)) out[u].push_back(item);
    }
  }
  return out;
}

}  // namespace plotforge::recommendation
