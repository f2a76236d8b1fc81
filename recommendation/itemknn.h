// Item-kNN on content features: an item's score for a user is the sum of
// its cosine similarities (over the item feature vectors) to the items the
// user has in training, kept to each item's `neighbours` most similar; the
// user's own items excluded. Items without interactions are scored like
// any other: content reaches the cold start that collaborative models miss.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "recommendation/interactions.h"
#include "recommendation/item_features.h"

namespace plotforge::recommendation {

// Each item's `neighbours` most similar items by cosine over the feature
// vectors (positive similarities only, most similar first; ties to the
// lower index): (item, similarity) pairs.
std::vector<std::vector<std::pair<std::int32_t, float>>> item_neighbours(const ItemFeatures& features, int neighbours);

std::vector<std::vector<std::int32_t>> recommend_itemknn(const std::vector<Interaction>& train, std::size_t n_users,
                                                         const ItemFeatures& features, int k, int neighbours = 50);

}  // namespace plotforge::recommendation
