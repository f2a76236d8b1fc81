#include <cmath>
#include <vector>

#include "kernels/cpu_matmul.h"

namespace plotforge::kernels {

void matmul_rows_reference(const WeightMatrix& w, const float* x, int n, double* y, double* abs_sum, int ldy,
                           int row_begin, int row_end) {
  std::vector<float> row(w.cols);
  for (int r = row_begin; r < row_end; ++r) {
    decode_row(w, r, row.data());
    for (int i = 0; i < n; ++i) {
      double s = 0, a = 0;
      for (int k = 0; k < w.cols; ++k) {
        const double p = static_cast<double>(x[static_cast<std::size_t>(i) * w.cols + k]) * row[k];
        s += p;
        a += std::fabs(p);
      }
      y[static_cast<std::size_t>(i) * ldy + r] = s;
      if (abs_sum) abs_sum[static_cast<std::size_t>(i) * ldy + r] = a;
    }
  }
}

}  // namespace plotforge::kernels
