#include "models/fused_attention.h"

#include <stdexcept>
#include <string>

#include <torch/autograd.h>

#include "kernels/attention.h"
#include "kernels/cuda_common.h"
#include "models/cuda_stream.h"

namespace plotforge {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

kernels::DType kernel_dtype(const at::Tensor& t) {
  return t.scalar_type() == at::kBFloat16 ? kernels::DType::kBF16 : kernels::DType::kF16;
}

kernels::AttentionShape shape_of(const at::Tensor& q, const at::Tensor& k, bool causal) {
  kernels::AttentionShape s;
  s.batch = static_cast<int>(q.size(0));
  s.heads = static_cast<int>(q.size(1));
  s.q_len = static_cast<int>(q.size(2));
  s.head_dim = static_cast<int>(q.size(3));
  s.kv_heads = static_cast<int>(k.size(1));
  s.kv_len = static_cast<int>(k.size(2));
  s.causal = causal;
  return s;
}

class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q_in, const at::Tensor& k_in,
                            const at::Tensor& v_in, bool causal) {
    const at::Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    const kernels::AttentionShape s = shape_of(q, k, causal);
    at::Tensor o = at::empty_like(q);
    at::Tensor lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
    cudaCheck(kernels::attention_forward(q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(), lse.data_ptr<float>(),
                                         s, kernel_dtype(q), current_cuda_stream(q.device().index())));
    ctx->save_for_backward({q, k, v, o, lse});
    ctx->saved_data["causal"] = causal;
    return o;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &o = saved[3], &lse = saved[4];
    const at::Tensor d_o = grad_outputs[0].to(q.scalar_type()).contiguous();
    const kernels::AttentionShape s = shape_of(q, k, ctx->saved_data["causal"].toBool());
    at::Tensor dq = at::empty_like(q), dk = at::empty_like(k), dv = at::empty_like(v);
    at::Tensor work =
        at::empty({static_cast<int64_t>(kernels::attention_backward_workspace_bytes(s))}, q.options().dtype(at::kByte));
    cudaCheck(kernels::attention_backward(
        q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(), d_o.data_ptr(), lse.data_ptr<float>(), dq.data_ptr(),
        dk.data_ptr(), dv.data_ptr(), work.data_ptr(), s, kernel_dtype(q), current_cuda_stream(q.device().index())));
    return {dq, dk, dv, at::Tensor()};
  }
};

}  // namespace

bool fused_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  if (!q.is_cuda() || !k.is_cuda() || !v.is_cuda() || q.dim() != 4 || k.dim() != 4 || v.dim() != 4) return false;
  const auto t = q.scalar_type();
  if ((t != at::kBFloat16 && t != at::kHalf) || k.scalar_type() != t || v.scalar_type() != t) return false;
  if (k.sizes() != v.sizes() || k.size(0) != q.size(0) || k.size(3) != q.size(3)) return false;
  return kernels::attention_shape_supported(shape_of(q, k, true));
}

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal) {
  return FusedAttention::apply(q, k, v, causal);
}

}  // namespace plotforge
