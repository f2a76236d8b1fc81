#include "models/fused_cpu.h"

#include <cmath>

#include <torch/autograd.h>

#include "kernels/cpu_exp.h"

namespace plotforge::fused {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool applies(const at::Tensor& x) { return x.device().is_cpu() && x.scalar_type() == at::kFloat; }

namespace {

class RMSNormFn : public torch::autograd::Function<RMSNormFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& w, double eps) {
    const auto x = x_in.contiguous();
    const int64_t D = x.size(-1), N = x.numel() / D;
    auto y = at::empty_like(x);
    auto r = at::empty({N}, x.options());
    const float* xp = x.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* rp = r.data_ptr<float>();
    for (int64_t i = 0; i < N; ++i) {
      const float* xi = xp + i * D;
      float ss = 0;
      for (int64_t d = 0; d < D; ++d) ss += xi[d] * xi[d];
      const float ri = 1.0f / std::sqrt(ss / D + static_cast<float>(eps));
      rp[i] = ri;
      for (int64_t d = 0; d < D; ++d) yp[i * D + d] = xi[d] * ri * wp[d];
    }
    ctx->save_for_backward({x, w, r});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto& r = saved[2];
    const auto dy = grads[0].contiguous();
    const int64_t D = x.size(-1), N = x.numel() / D;
    auto dx = at::empty_like(x);
    auto dw = at::zeros_like(w);
    const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>(), *rp = r.data_ptr<float>(),
                *gp = dy.data_ptr<float>();
    float *dxp = dx.data_ptr<float>(), *dwp = dw.data_ptr<float>();
    for (int64_t i = 0; i < N; ++i) {
      const float* xi = xp + i * D;
      const float* gi = gp + i * D;
      const float ri = rp[i];
      // dx = r * (g*w - x * r^2 * mean(g*w*x))
      float dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += gi[d] * wp[d] * xi[d];
      const float c = ri * ri * dot / D;
      for (int64_t d = 0; d < D; ++d) {
        dxp[i * D + d] = ri * (gi[d] * wp[d] - xi[d] * c);
        dwp[d] += gi[d] * xi[d] * ri;
      }
    }
    return {dx, dw, at::Tensor()};
  }
};

// y = x*cos + rotate_half(x)*sin, rotate_half(x) = [-x2, x1]. Its transpose
// (the backward) is the same map with sin negated, because the rotary tables
// repeat their first half in their second (cos[d] == cos[d + D/2]).
void rotary_loop(const float* x, const float* cos, const float* sin, float* y, int64_t rows, int64_t T, int64_t D,
                 float sign) {
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t t = row % T;
    rotate_row(x + row * D, cos + t * D, sin + t * D, y + row * D, D, sign);
  }
}

class RotaryFn : public torch::autograd::Function<RotaryFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& cos_in,
                            const at::Tensor& sin_in) {
    const auto x = x_in.contiguous(), cos = cos_in.contiguous(), sin = sin_in.contiguous();
    auto y = at::empty_like(x);
    const int64_t D = x.size(-1), T = x.size(-2);
    rotary_loop(x.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(), y.data_ptr<float>(), x.numel() / D,
                T, D, 1.0f);
    ctx->save_for_backward({cos, sin});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto dy = grads[0].contiguous();
    auto dx = at::empty_like(dy);
    const int64_t D = dy.size(-1), T = dy.size(-2);
    rotary_loop(dy.data_ptr<float>(), saved[0].data_ptr<float>(), saved[1].data_ptr<float>(), dx.data_ptr<float>(),
                dy.numel() / D, T, D, -1.0f);
    return {dx, at::Tensor(), at::Tensor()};
  }
};

// h = silu(g) * u = g * sigmoid(g) * u; with s = sigmoid(g):
//   dh/du = g * s,  dh/dg = u * s * (1 + g * (1 - s)).
class SwiGluFn : public torch::autograd::Function<SwiGluFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gu_in) {
    const auto gu = gu_in.contiguous();
    const int64_t F = gu.size(-1) / 2, N = gu.numel() / (2 * F);
    auto out_sizes = gu.sizes().vec();
    out_sizes.back() = F;
    auto h = at::empty(out_sizes, gu.options()), sig = at::empty(out_sizes, gu.options());
    const float* x = gu.data_ptr<float>();
    float *hp = h.data_ptr<float>(), *sp = sig.data_ptr<float>();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t f = 0; f < F; ++f) sp[i * F + f] = -x[i * 2 * F + f];
    kernels::exp_floats(sp, sp, N * F);
    for (int64_t i = 0; i < N; ++i) {
      const float *g = x + i * 2 * F, *u = g + F;
      float *s = sp + i * F, *o = hp + i * F;
      for (int64_t f = 0; f < F; ++f) {
        s[f] = 1.0f / (1.0f + s[f]);
        o[f] = g[f] * s[f] * u[f];
      }
    }
    ctx->save_for_backward({gu, sig});
    return h;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& gu = saved[0];
    const auto& sig = saved[1];
    const auto dh = grads[0].contiguous();
    const int64_t F = gu.size(-1) / 2, N = gu.numel() / (2 * F);
    auto dgu = at::empty_like(gu);
    const float *x = gu.data_ptr<float>(), *sp = sig.data_ptr<float>(), *dp = dh.data_ptr<float>();
    float* out = dgu.data_ptr<float>();
    for (int64_t i = 0; i < N; ++i) {
      const float *g = x + i * 2 * F, *u = g + F, *s = sp + i * F, *d = dp + i * F;
      float *dg = out + i * 2 * F, *du = dg + F;
      for (int64_t f = 0; f < F; ++f) {
        dg[f] = d[f] * u[f] * s[f] * (1.0f + g[f] * (1.0f - s[f]));
        du[f] = d[f] * g[f] * s[f];
      }
    }
    return {dgu};
  }
};

}  // namespace

at::Tensor swiglu(const at::Tensor& gu) { return SwiGluFn::apply(gu); }

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  return RMSNormFn::apply(x, weight, eps);
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return RotaryFn::apply(x, cos, sin);
}

}  // namespace plotforge::fused
