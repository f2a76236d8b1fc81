// Causal self-attention of a training step on the CPU, in one autograd
// function (fused_cpu.h): from the q/k/v projection's output to the heads'
// outputs merged back, with the rotary positions applied on the way in. The
// scores of a short context are small enough to keep for the backward, so
// nothing is recomputed; each head's products are single OpenBLAS calls on
// strided views of the buffers, with no tensor views or copies between them.
#include <cblas.h>

#include <cmath>
#include <cstring>

#include <torch/autograd.h>

#include "kernels/cpu_exp.h"
#include "models/fused_cpu.h"

namespace plotforge::fused {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct Shape {
  int64_t B, T, H, G, D;
  int64_t width() const { return (H + 2 * G) * D; }  // a row of qkv
};

Shape shape_of(const at::Tensor& qkv, int64_t heads, int64_t kv_heads) {
  Shape s{qkv.size(0), qkv.size(1), heads, kv_heads, 0};
  s.D = qkv.size(2) / (heads + 2 * kv_heads);
  return s;
}

class CausalSelfAttentionFn : public torch::autograd::Function<CausalSelfAttentionFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& qkv_in, const at::Tensor& cos_in,
                            const at::Tensor& sin_in, int64_t heads, int64_t kv_heads) {
    const auto qkv = qkv_in.contiguous(), cos = cos_in.contiguous(), sin = sin_in.contiguous();
    const Shape s = shape_of(qkv, heads, kv_heads);
    const int64_t B = s.B, T = s.T, H = s.H, G = s.G, D = s.D, W = s.width();
    // Rotated q and k, head-major ([B, H, T, D], [B, G, T, D]); v is read in place.
    auto q = at::empty({B, H, T, D}, qkv.options()), k = at::empty({B, G, T, D}, qkv.options());
    auto p = at::empty({B, H, T, T}, qkv.options());
    auto y = at::empty({B, T, H * D}, qkv.options());
    const float *xp = qkv.data_ptr<float>(), *cp = cos.data_ptr<float>(), *sp = sin.data_ptr<float>();
    float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *pp = p.data_ptr<float>(), *yp = y.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const float* row = xp + (b * T + t) * W;
        for (int64_t h = 0; h < H; ++h)
          rotate_row(row + h * D, cp + t * D, sp + t * D, qp + ((b * H + h) * T + t) * D, D, 1);
        for (int64_t g = 0; g < G; ++g)
          rotate_row(row + (H + g) * D, cp + t * D, sp + t * D, kp + ((b * G + g) * T + t) * D, D, 1);
      }
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / G);
        float* P = pp + (b * H + h) * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale, qp + (b * H + h) * T * D, D,
                    kp + (b * G + g) * T * D, D, 0.0f, P, T);
        for (int64_t i = 0; i < T; ++i) {  // softmax over keys 0..i; later keys get exactly 0
          float* row = P + i * T;
          float mx = row[0];
          for (int64_t j = 1; j <= i; ++j) mx = row[j] > mx ? row[j] : mx;
          for (int64_t j = 0; j <= i; ++j) row[j] -= mx;
          kernels::exp_floats(row, row, i + 1);
          float sum = 0;
          for (int64_t j = 0; j <= i; ++j) sum += row[j];
          const float inv = 1.0f / sum;
          for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
          for (int64_t j = i + 1; j < T; ++j) row[j] = 0;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, P, T, xp + b * T * W + (H + G + g) * D, W,
                    0.0f, yp + b * T * H * D + h * D, H * D);
      }
    ctx->save_for_backward({qkv, q, k, p, cos, sin});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["kv_heads"] = kv_heads;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &qkv = saved[0], &q = saved[1], &k = saved[2], &p = saved[3], &cos = saved[4], &sin = saved[5];
    const Shape s = shape_of(qkv, ctx->saved_data["heads"].toInt(), ctx->saved_data["kv_heads"].toInt());
    const int64_t B = s.B, T = s.T, H = s.H, G = s.G, D = s.D, W = s.width();
    const auto dy = grads[0].contiguous();
    // k and v gradients sum over the query heads sharing them.
    auto dqkv = at::zeros_like(qkv);
    auto dq = at::empty_like(q), dk = at::zeros_like(k);
    auto ds = at::empty({T, T}, qkv.options());
    const float *xp = qkv.data_ptr<float>(), *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(),
                *pp = p.data_ptr<float>(), *gp = dy.data_ptr<float>();
    float *dxp = dqkv.data_ptr<float>(), *dqp = dq.data_ptr<float>(), *dkp = dk.data_ptr<float>(),
          *dsp = ds.data_ptr<float>();
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / G);
        const float* P = pp + (b * H + h) * T * T;
        const float* dyh = gp + b * T * H * D + h * D;  // rows of H * D
        const float* v = xp + b * T * W + (H + G + g) * D;
        // dP = dy v^T, into ds; dv += P^T dy.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.0f, dyh, H * D, v, W, 0.0f, dsp, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, P, T, dyh, H * D, 1.0f,
                    dxp + b * T * W + (H + G + g) * D, W);
        // dS = P * (dP - sum_j P dP), row by row (0 where P is).
        for (int64_t i = 0; i < T; ++i) {
          const float* pr = P + i * T;
          float* dr = dsp + i * T;
          float dot = 0;
          for (int64_t j = 0; j <= i; ++j) dot += pr[j] * dr[j];
          for (int64_t j = 0; j < T; ++j) dr[j] = pr[j] * (dr[j] - dot);
        }
        // dq = scale dS k; dk += scale dS^T q (both rotated; unrotated below).
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, scale, dsp, T, kp + (b * G + g) * T * D, D,
                    0.0f, dqp + (b * H + h) * T * D, D);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, scale, dsp, T, qp + (b * H + h) * T * D, D, 1.0f,
                    dkp + (b * G + g) * T * D, D);
      }
    const float *cp = cos.data_ptr<float>(), *sp = sin.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        float* row = dxp + (b * T + t) * W;
        for (int64_t h = 0; h < H; ++h)
          rotate_row(dqp + ((b * H + h) * T + t) * D, cp + t * D, sp + t * D, row + h * D, D, -1);
        for (int64_t g = 0; g < G; ++g)
          rotate_row(dkp + ((b * G + g) * T + t) * D, cp + t * D, sp + t * D, row + (H + g) * D, D, -1);
      }
    return {dqkv, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool causal_self_attention_applies(const at::Tensor& qkv) { return applies(qkv) && qkv.size(1) <= kMaxFusedContext; }

at::Tensor causal_self_attention(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin, int64_t heads,
                                 int64_t kv_heads) {
  return CausalSelfAttentionFn::apply(qkv, cos, sin, heads, kv_heads);
}

}  // namespace plotforge::fused
