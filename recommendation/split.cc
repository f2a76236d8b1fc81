#include "recommendation/split.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "base/error.h"

namespace plotforge::recommendation {

namespace {

std::vector<std::vector<std::size_t>> rows_by_user(const Interactions& data) {
  std::vector<std::vector<std::size_t>> by(data.users.size());
  for (std::size_t r = 0; r < data.rows.size(); ++r) by[data.rows[r].user].push_back(r);
  return by;
}

}  // namespace

Split stratified_split(const Interactions& data, double train_share, std::uint64_t seed) {
  if (!(train_share > 0 && train_share < 1)) throw InputError("--train-share: must be in (0, 1)");
  Split s;
  std::mt19937_64 rng(seed);
  for (auto& rows : rows_by_user(data)) {
    std::shuffle(rows.begin(), rows.end(), rng);
    const std::size_t n_train = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::llround(train_share * static_cast<double>(rows.size()))));
    for (std::size_t i = 0; i < rows.size(); ++i) (i < n_train ? s.train : s.test).push_back(data.rows[rows[i]]);
  }
  return s;
}

Split leave_last_out(const Interactions& data) {
  Split s;
  for (const auto& rows : rows_by_user(data)) {
    if (rows.empty()) continue;
    std::size_t last = rows[0];
    for (std::size_t r : rows) {
      if (data.rows[r].time >= data.rows[last].time) last = r;
    }
    for (std::size_t r : rows) (r == last && rows.size() > 1 ? s.test : s.train).push_back(data.rows[r]);
  }
  return s;
}

std::vector<std::vector<std::int32_t>> items_by_user(const std::vector<Interaction>& rows, std::size_t n_users) {
  std::vector<std::vector<std::int32_t>> out(n_users);
  for (const auto& r : rows) out[r.user].push_back(r.item);
  for (auto& v : out) std::sort(v.begin(), v.end());
  return out;
}

}  // namespace plotforge::recommendation
