#include "training/batch_tensors.h"

#include <algorithm>

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

namespace plotforge {

torch::Tensor token_tensor(const std::vector<std::int32_t>& v, int rows, int cols, const torch::Device& device) {
  return torch::from_blob(const_cast<std::int32_t*>(v.data()), {rows, cols}, torch::kInt32)
      .to(torch::kInt64)
      .to(device);
}

torch::Tensor padded_rows(const std::vector<std::vector<int>>& rows, const std::vector<int>& drop, int max_tokens,
                          const c10::Device& device) {
  std::vector<std::vector<int>> kept(rows.size());
  std::size_t width = 1;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (int id : rows[r]) {
      if (static_cast<int>(kept[r].size()) >= max_tokens) break;
      if (std::find(drop.begin(), drop.end(), id) == drop.end()) kept[r].push_back(id);
    }
    width = std::max(width, kept[r].size());
  }
  std::vector<std::int32_t> flat(rows.size() * width, -1);
  for (std::size_t r = 0; r < rows.size(); ++r) std::copy(kept[r].begin(), kept[r].end(), flat.begin() + r * width);
  return token_tensor(flat, static_cast<int>(rows.size()), static_cast<int>(width), device);
}

std::vector<std::vector<int>> scene_rows(const SceneBatch& b) {
  std::vector<std::vector<int>> rows(b.batch);
  for (int r = 0; r < b.batch; ++r) {
    rows[r].assign(b.tokens.begin() + static_cast<long>(r) * b.length,
                   b.tokens.begin() + static_cast<long>(r) * b.length + b.lengths[r]);
  }
  return rows;
}

torch::Tensor labels(const std::vector<std::int32_t>& v, const torch::Device& device) {
  return torch::tensor(std::vector<std::int64_t>(v.begin(), v.end()), torch::kInt64).to(device);
}

torch::Tensor labeled_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target, long* correct,
                                    long* count) {
  const auto keep = target.ge(0);
  const long n = keep.sum().item<long>();
  if (count) *count += n;
  if (n == 0) return logits.sum() * 0;
  const auto l = logits.index({keep}).to(torch::kFloat32), t = target.index({keep});
  if (correct) *correct += l.argmax(-1).eq(t).sum().item<long>();
  return torch::nn::functional::cross_entropy(l, t);
}

SceneTensors scene_tensors(const SceneBatch& b, const torch::Device& device) {
  SceneTensors s;
  s.tokens = token_tensor(b.tokens, b.batch, b.length, device);
  s.inputs = s.tokens.clamp_min(0);
  s.targets = torch::cat({s.tokens.narrow(1, 1, b.length - 1), torch::full({b.batch, 1}, -1, s.tokens.options())}, 1);
  for (int len : b.lengths) s.n_targets += std::max(0, len - 1);
  return s;
}

torch::Tensor row_nll(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto lf = logits.to(torch::kFloat32);
  const auto nll = torch::nn::functional::cross_entropy(
      lf.view({-1, lf.size(-1)}), targets.reshape(-1),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1).reduction(torch::kNone));
  return nll.view(targets.sizes()).sum(1);
}

}  // namespace plotforge
