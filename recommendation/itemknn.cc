#include "recommendation/itemknn.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "recommendation/split.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

std::vector<std::vector<std::pair<std::int32_t, float>>> item_neighbours(const ItemFeatures& features, int neighbours) {
  const std::size_t n = features.vectors.size(), d = features.names.size();
  // Unit vectors, then each item's nearest neighbours by cosine.
  std::vector<std::vector<float>> unit = features.vectors;
  for (auto& v : unit) {
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    if (norm > 0)
      for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  }
  std::vector<std::vector<std::pair<std::int32_t, float>>> near(n);
  std::vector<float> sim(n);
  std::vector<std::int32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      float s = 0;
      for (std::size_t f = 0; f < d; ++f) s += unit[i][f] * unit[j][f];
      sim[j] = j == i ? -1.f : s;
    }
    std::iota(order.begin(), order.end(), 0);
    const std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, neighbours)), n);
    std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                      [&](std::int32_t a, std::int32_t b) { return sim[a] > sim[b] || (sim[a] == sim[b] && a < b); });
    for (std::size_t r = 0; r < keep; ++r) {
      if (sim[order[r]] > 0) near[i].emplace_back(order[r], sim[order[r]]);
    }
  }
  return near;
}

std::vector<std::vector<std::int32_t>> recommend_itemknn(const std::vector<Interaction>& train, std::size_t n_users,
                                                         const ItemFeatures& features, int k, int neighbours) {
  const std::size_t n = features.vectors.size();
  const auto near = item_neighbours(features, neighbours);
  const auto seen = items_by_user(train, n_users);
  std::vector<std::vector<std::int32_t>> out(n_users);
  std::vector<double> score(n);
  for (std::size_t u = 0; u < n_users; ++u) {
    std::fill(score.begin(), score.end(), 0.0);
    for (std::int32_t i : seen[u])
      for (const auto& [j, s] : near[i]) score[j] += s;
    out[u] = best_unseen(
        n, [&](std::int32_t i) { return score[i]; }, seen[u], k);
  }
  return out;
}

}  // namespace plotforge::recommendation
