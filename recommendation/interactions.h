// Interaction logs for the recommenders (docs/recommendation.md): who
// interacted with what, how much, and when.
//
// A file is CSV (",") or TSV (tab; also any file whose first line holds a
// tab), one interaction per line: user, item, and optionally a value (an
// explicit rating or an implicit count; 1 when absent) and a timestamp
// (unix seconds; 0 when absent). A first line whose value or timestamp
// column is not a number, or whose first two columns are named user and
// item (user_id, userId, viewer; item_id, movieId, story, play; any case,
// RecBole's ":type" suffixes allowed: user_id:token), is a header and
// skipped. Blank lines are skipped.
//
// Errors name the file and line: a line with fewer than two or more than
// four columns, an empty user or item, a value or timestamp that is not a
// finite number, the same (user, item) pair twice, no interactions at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace plotforge::recommendation {

struct Interaction {
  std::int32_t user = 0, item = 0;  // indices into Interactions::users / items
  float value = 1;
  double time = 0;
  std::int32_t line = 0;  // in the file it was read from (1-based)
};

struct Interactions {
  std::vector<std::string> users, items;  // external ids, in order of first appearance
  std::vector<Interaction> rows;          // in file order
  std::unordered_map<std::string, std::int32_t> user_index, item_index;
};

Interactions read_interactions(const std::string& path);
Interactions parse_interactions(std::string_view text, const std::string& source);

// A test split given as its own file, in `train`'s indices. Errors name
// the file and line: a user or item not in `train` (a test split can only
// ask about what was trained on), a pair that is also in `train`.
std::vector<Interaction> read_test_split(const std::string& path, const Interactions& train);

}  // namespace plotforge::recommendation
