// A trained recommender as predict and the story server use it, without
// libtorch (docs/recommendation.md, "Trained recommenders"):
//
//   RUN/recommender.safetensors  users [U, f], items [I, f], item_bias [I]
//                                (float32; f = 0 for popularity and
//                                itemknn), popularity [I] (training users
//                                per item); itemknn adds neighbour_items
//                                [I, n] (int32, -1 past an item's list)
//                                and neighbour_sims [I, n]
//   RUN/recommender.json         {"format_version": 1, "model": "bpr", ...,
//                                 "users": [ids], "items": [ids],
//                                 "seen": [[item indices] per user],
//                                 "fold_in_reg": λ}
//
// A user's score for item i is users[u] . items[i] + item_bias[i]; for
// itemknn, the sum of i's similarities to the user's items among their
// neighbours (itemknn.h). Three kinds of user are served, each by what is
// known of them:
//   known     in training: their own vector;
//   history   not in training but with items they chose (a story server's
//             viewer, the items given on the command line): a vector
//             folded in by ridge regression of 1 on those items' vectors,
//             (Y_h^T Y_h + λ I) x = Y_h^T 1, the ALS fold-in, so a hybrid's
//             content-informed item vectors carry content to them (itemknn
//             needs no fold-in: its scores come from the items alone);
//   cold      nothing known: popularity.
// Items the user already has are never recommended.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace plotforge::recommendation {

struct Recommender {
  std::string model;  // popularity | als | bpr | hybrid
  int factors = 0;
  std::vector<std::string> users, items;
  std::unordered_map<std::string, std::int32_t> user_index, item_index;
  std::vector<float> user_vectors, item_vectors, item_bias, popularity;  // row-major
  std::vector<std::vector<std::int32_t>> seen;                           // per user, sorted
  double fold_in_reg = 1.0;
  // itemknn: per item, its neighbours and their similarities.
  std::vector<std::vector<std::pair<std::int32_t, float>>> neighbours;
};

struct Recommendation {
  std::string item;
  double score = 0;
};

struct Recommendations {
  std::string source;  // "known", "history" or "cold"
  std::vector<Recommendation> items;
};

// Writes RUN/recommender.{safetensors,json} atomically.
void save_recommender(const std::string& run_dir, const Recommender& r);
// Reads them back; throws InputError naming the file and field.
Recommender load_recommender(const std::string& run_dir);

// The k best items for `user` (an id) with `history` (item ids; unknown
// ones ignored): known if the user is in training, else history if any
// history item is known, else cold.
Recommendations recommend(const Recommender& r, const std::string& user, const std::vector<std::string>& history,
                          int k);

}  // namespace plotforge::recommendation
