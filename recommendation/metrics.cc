#include "recommendation/metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace plotforge::recommendation {

nlohmann::json TopK::to_json() const {
  return {{"k", k},           {"users", users}, {"ndcg", ndcg},        {"precision", precision},
          {"recall", recall}, {"map", map},     {"coverage", coverage}};
}

TopK evaluate_top_k(const std::vector<std::vector<std::int32_t>>& recommended,
                    const std::vector<std::vector<std::int32_t>>& relevant, int k, std::size_t n_items) {
  TopK t;
  t.k = k;
  std::unordered_set<std::int32_t> shown;
  for (std::size_t u = 0; u < relevant.size(); ++u) {
    const auto& rel = relevant[u];
    if (rel.empty()) continue;
    const auto& rec = u < recommended.size() ? recommended[u] : std::vector<std::int32_t>{};
    ++t.users;
    double dcg = 0, idcg = 0, ap = 0;
    int hits = 0;
    for (int i = 0; i < k && i < static_cast<int>(rec.size()); ++i) {
      shown.insert(rec[i]);
      if (std::binary_search(rel.begin(), rel.end(), rec[i])) {
        ++hits;
        dcg += 1.0 / std::log2(i + 2.0);
        ap += static_cast<double>(hits) / (i + 1);
      }
    }
    const int ideal = std::min<int>(k, static_cast<int>(rel.size()));
    for (int i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(i + 2.0);
    t.ndcg += dcg / idcg;
    t.precision += static_cast<double>(hits) / k;
    t.recall += static_cast<double>(hits) / static_cast<double>(rel.size());
    t.map += ap / ideal;
  }
  if (t.users > 0) {
    t.ndcg /= t.users;
    t.precision /= t.users;
    t.recall /= t.users;
    t.map /= t.users;
  }
  t.coverage = n_items ? static_cast<double>(shown.size()) / static_cast<double>(n_items) : 0;
  return t;
}

}  // namespace plotforge::recommendation
