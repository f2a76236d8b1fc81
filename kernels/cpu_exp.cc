#include "kernels/cpu_exp.h"

namespace plotforge::kernels {

__attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3"))) void exp_floats(const float* x, float* y,
                                                                                             std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_lane(x[i]);
}

}  // namespace plotforge::kernels
