#include "inference/cpu_ops.h"

#include <cblas.h>

#include <cmath>
#include <cstddef>

#include "inference/parallel.h"

namespace plotforge::runtime::cpu {

void matmul(const float* x, const float* w, float* y, int n, int in, int out) {
  if (n == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w, in, x, 1, 0.0f, y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  }
}

void rms_norm(const float* x, const float* w, float* y, int n, int d, float eps) {
  for (int i = 0; i < n; ++i) {
    const float* xi = x + static_cast<std::size_t>(i) * d;
    float ss = 0;
    for (int k = 0; k < d; ++k) ss += xi[k] * xi[k];
    const float r = 1.0f / std::sqrt(ss / d + eps);
    float* yi = y + static_cast<std::size_t>(i) * d;
    for (int k = 0; k < d; ++k) yi[k] = xi[k] * r * w[k];
  }
}

void rope(float* v, const float* cos, const float* sin, int hd) {
  const int h = hd / 2;
  for (int k = 0; k < h; ++k) {
    const float a = v[k], b = v[k + h];
    v[k] = a * cos[k] - b * sin[k];
    v[k + h] = b * cos[k + h] + a * sin[k + h];
  }
}

void swiglu(const float* gate_up, float* act, int n, int hidden) {
  const int F = hidden;
  parallel_for(n, 8, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      const float* g = gate_up + r * 2 * F;
      float* a = act + r * F;
      for (int i = 0; i < F; ++i) a[i] = g[i] / (1.0f + std::exp(-g[i])) * g[F + i];
    }
  });
}

void block_output(const LayerWeights& w, const float* att, float* x, int n, int dim, int q_out, int hidden, float eps,
                  float* h, float* gate_up, float* act, float* proj) {
  const std::size_t size = static_cast<std::size_t>(n) * dim;
  matmul(att, w.wo, proj, n, q_out, dim);
  for (std::size_t i = 0; i < size; ++i) x[i] += proj[i];
  rms_norm(x, w.post_norm, h, n, dim, eps);
  matmul(h, w.wgate_up.data(), gate_up, n, dim, 2 * hidden);
  swiglu(gate_up, act, n, hidden);
  matmul(act, w.wdown, proj, n, hidden, dim);
  for (std::size_t i = 0; i < size; ++i) x[i] += proj[i];
}

}  // namespace plotforge::runtime::cpu
