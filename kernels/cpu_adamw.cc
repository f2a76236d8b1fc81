#include "kernels/cpu_adamw.h"

#include <cmath>

namespace plotforge::kernels {

namespace {

// AdamW's expression for one float, with the decay decided outside the
// loop: the kernel's copies and the reference run this one loop.
template <bool kDecays>
__attribute__((always_inline)) inline void adamw_loop(float* __restrict w, const float* __restrict g,
                                                      float* __restrict m, float* __restrict v, std::int64_t n,
                                                      const AdamWScalars s) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float wi = kDecays ? w[i] * s.decay : w[i];
    m[i] = m[i] * s.b1 + s.a1 * g[i];
    v[i] = v[i] * s.b2 + s.a2 * g[i] * g[i];
    const float denom = std::sqrt(v[i]) / s.root_bc2 + s.eps;
    w[i] = wi + s.step_size * m[i] / denom;
  }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void adamw_step(float* w, const float* g, float* m,
                                                                             float* v, std::int64_t n,
                                                                             const AdamWScalars& s) {
  if (s.decays) {
    adamw_loop<true>(w, g, m, v, n, s);
  } else {
    adamw_loop<false>(w, g, m, v, n, s);
  }
}

// The same loop, for plain x86-64 and not vectorised: one float at a time.
__attribute__((optimize("no-tree-vectorize"))) void adamw_step_reference(float* w, const float* g, float* m, float* v,
                                                                         std::int64_t n, const AdamWScalars& s) {
  if (s.decays) {
    adamw_loop<true>(w, g, m, v, n, s);
  } else {
    adamw_loop<false>(w, g, m, v, n, s);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) double sum_of_squares(const float* x, std::int64_t n) {
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) part[k] += static_cast<double>(x[i + k]) * x[i + k];
  for (int k = 0; i < n; ++i, ++k) part[k] += static_cast<double>(x[i]) * x[i];
  return ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
}

double sum_of_squares_reference(const float* x, std::int64_t n) {
  double sq = 0;
  for (std::int64_t i = 0; i < n; ++i) sq += static_cast<double>(x[i]) * x[i];
  return sq;
}

}  // namespace plotforge::kernels
