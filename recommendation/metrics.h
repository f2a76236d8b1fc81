// Top-k ranking metrics (docs/recommendation.md), over the users with at
// least one test item, with binary relevance (an item is relevant when it
// is in the user's test set), each user's recommendations excluding their
// training items:
//   precision@k = hits / k
//   recall@k    = hits / |relevant|
//   NDCG@k      = sum over hits at rank i (1-based) of 1 / log2(i + 1),
//                 divided by the same for the min(k, |relevant|) best ranks
//   MAP@k       = sum over hits at rank i of precision@i, / min(k, |relevant|)
//   coverage    = distinct items recommended to anyone / items in the catalogue
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace plotforge::recommendation {

struct TopK {
  int k = 10;
  long users = 0;  // users evaluated
  double ndcg = 0, precision = 0, recall = 0, map = 0, coverage = 0;
  nlohmann::json to_json() const;
};

// recommended[u]: ranked item ids; relevant[u]: sorted test item ids.
TopK evaluate_top_k(const std::vector<std::vector<std::int32_t>>& recommended,
                    const std::vector<std::vector<std::int32_t>>& relevant, int k, std::size_t n_items);

}  // namespace plotforge::recommendation
