#include "models/attention.h"

#include <cmath>

#include <ATen/ATen.h>

#include "models/torch_compat.h"

#if PLOTFORGE_HAVE_CUDA
#include "models/fused_attention.h"
#endif

namespace plotforge {

namespace {

// Grouped-query attention: each key/value head serves heads / kv_heads query heads.
at::Tensor expand_kv(const at::Tensor& kv, int64_t heads) {
  const int64_t kv_heads = kv.size(1);
  return kv_heads == heads ? kv : kv.repeat_interleave(heads / kv_heads, 1);
}

}  // namespace

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k_in, const at::Tensor& v_in, int64_t start) {
#if PLOTFORGE_HAVE_CUDA
  // Our kernels align causal masks bottom-right, which is exactly "query i
  // sees keys up to start + i" for k of length start + T; GQA is native.
  if (k_in.size(2) == start + q.size(2) && fused_attention_applies(q, k_in, v_in))
    return fused_attention(q, k_in, v_in, /*causal=*/true);
#endif
  const int64_t T = q.size(2);
  const at::Tensor k = expand_kv(k_in, q.size(1)), v = expand_kv(v_in, q.size(1));
  if (start == 0) return compat::scaled_dot_product_attention(q, k, v, c10::nullopt, /*is_causal=*/true);
  if (T == 1) return compat::scaled_dot_product_attention(q, k, v, c10::nullopt, false);
  // A chunk continuing a cache: query i sees keys up to start + i (the
  // library's is_causal aligns top-left, so the mask is explicit).
  const auto rows = at::arange(T, q.options().dtype(at::kLong)).unsqueeze(1) + start;
  const auto cols = at::arange(start + T, q.options().dtype(at::kLong)).unsqueeze(0);
  const auto mask = at::zeros({T, start + T}, q.options()).masked_fill(cols > rows, -INFINITY);
  return compat::scaled_dot_product_attention(q, k, v, mask, false);
}

at::Tensor bidirectional_attention(const at::Tensor& q, const at::Tensor& k_in, const at::Tensor& v_in,
                                   const at::Tensor& key_padding) {
  const at::Tensor k = expand_kv(k_in, q.size(1)), v = expand_kv(v_in, q.size(1));
  // [B, 1, 1, Tk] additive mask, broadcast over heads and queries.
  const auto mask =
      at::zeros(key_padding.sizes(), q.options()).masked_fill(key_padding, -INFINITY).unsqueeze(1).unsqueeze(1);
  return compat::scaled_dot_product_attention(q, k, v, mask, false);
}

}  // namespace plotforge
