// Train/test splits of an interaction log (docs/recommendation.md):
//  - stratified: per user, a seeded random `train_share` of their
//    interactions (rounded, at least one) to train and the rest to test, as
//    Microsoft's recommenders' python_stratified_split does for its
//    benchmark table (ratio 0.75);
//  - leave-last-out: per user, their latest interaction (by timestamp, the
//    later line on ties) to test and the rest to train.
// A user with one interaction keeps it in train under both.
#pragma once

#include <cstdint>
#include <vector>

#include "recommendation/interactions.h"

namespace plotforge::recommendation {

struct Split {
  std::vector<Interaction> train, test;
};

Split stratified_split(const Interactions& data, double train_share, std::uint64_t seed);
Split leave_last_out(const Interactions& data);

// Per user: the items of `rows` (sorted), for `n_users` users.
std::vector<std::vector<std::int32_t>> items_by_user(const std::vector<Interaction>& rows, std::size_t n_users);

}  // namespace plotforge::recommendation
