// Item features for content-based recommenders (docs/recommendation.md):
// a CSV (or TSV) with a header line whose first column is the item id and
// whose other columns are features. A column whose every value is a number
// is numeric and standardised (zero mean, unit variance; constant columns
// become 0); any other column is categorical and one-hot encoded, and a
// value may hold several categories separated by "|" (MovieLens' genres:
// "Comedy|Romance"). Items missing from the file get all-zero features.
//
// Errors name the file and line: a row with another number of columns
// than the header, an empty item id, an item listed twice, no rows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "recommendation/interactions.h"

namespace plotforge::recommendation {

struct ItemFeatures {
  std::vector<std::string> names;           // one per dimension: "genre=Comedy", "year"
  std::vector<std::vector<float>> vectors;  // per item of the Interactions, in its item order
};

// Reads features for the items of `data`; items in the file but not in
// `data` are added to it (they have no interactions yet: cold start).
ItemFeatures read_item_features(const std::string& path, Interactions& data);
ItemFeatures parse_item_features(std::string_view text, const std::string& source, Interactions& data);

}  // namespace plotforge::recommendation
