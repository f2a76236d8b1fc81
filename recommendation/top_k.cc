#include "recommendation/top_k.h"

#include <algorithm>
#include <numeric>

namespace plotforge::recommendation {

std::vector<std::int32_t> best_unseen(std::size_t n_items, const std::function<double(std::int32_t)>& score,
                                      const std::vector<std::int32_t>& seen, int k) {
  std::vector<double> s(n_items);
  for (std::size_t i = 0; i < n_items; ++i) s[i] = score(static_cast<std::int32_t>(i));
  std::vector<std::int32_t> order(n_items);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return s[a] > s[b]; });
  std::vector<std::int32_t> out;
  for (std::int32_t item : order) {
    if (static_cast<int>(out.size()) == k) break;
    if (!std::binary_search(seen.begin(), seen.end(), item)) out.push_back(item);
  }
  return out;
}

}  // namespace plotforge::recommendation
