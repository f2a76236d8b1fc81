#include "recommendation/factors.h"

#include "recommendation/split.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

std::vector<std::vector<std::int32_t>> recommend_factors(const FactorModel& m, const std::vector<Interaction>& train,
                                                         int k) {
  torch::NoGradGuard no_grad;
  auto scores = m.users.mm(m.items.t());
  if (m.item_bias.defined()) scores = scores + m.item_bias.unsqueeze(0);
  scores = scores.contiguous();
  const auto s = scores.accessor<float, 2>();
  const auto seen = items_by_user(train, static_cast<std::size_t>(scores.size(0)));
  std::vector<std::vector<std::int32_t>> out;
  for (std::size_t u = 0; u < seen.size(); ++u) {
    out.push_back(best_unseen(
        static_cast<std::size_t>(scores.size(1)), [&](std::int32_t i) { return s[u][i]; }, seen[u], k));
  }
  return out;
}

}  // namespace plotforge::recommendation
