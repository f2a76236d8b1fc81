#include "models/attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "models/torch_compat.h"

namespace plotforge {

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k_in, const at::Tensor& v_in, int64_t start) {
  const int64_t heads = q.size(1), kv_heads = k_in.size(1), T = q.size(2);
  at::Tensor k = k_in, v = v_in;
  if (kv_heads != heads) {
    k = k.repeat_interleave(heads / kv_heads, 1);
    v = v.repeat_interleave(heads / kv_heads, 1);
  }
  if (start == 0) return compat::scaled_dot_product_attention(q, k, v, c10::nullopt, /*is_causal=*/true);
  if (T == 1) return compat::scaled_dot_product_attention(q, k, v, c10::nullopt, false);
  // A chunk continuing a cache: query i sees keys up to start + i (the
  // library's is_causal aligns top-left, so the mask is explicit).
  const auto rows = at::arange(T, q.options().dtype(at::kLong)).unsqueeze(1) + start;
  const auto cols = at::arange(start + T, q.options().dtype(at::kLong)).unsqueeze(0);
  const auto mask = at::zeros({T, start + T}, q.options()).masked_fill(cols > rows, -INFINITY);
  return compat::scaled_dot_product_attention(q, k, v, mask, false);
}

}  // namespace plotforge
