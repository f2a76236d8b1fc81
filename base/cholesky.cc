#include "base/cholesky.h"

#include <algorithm>
#include <cmath>

namespace plotforge {

std::vector<double> cholesky(const std::vector<double>& a, std::size_t n) {
  std::vector<double> l(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      double s = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= l[i * n + k] * l[j * n + k];
      if (i == j) {
        l[i * n + i] = std::sqrt(std::max(s, 1e-12));
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

std::vector<double> cholesky_solve(const std::vector<double>& l, const std::vector<double>& b) {
  const std::size_t n = b.size();
  std::vector<double> y(n), x(n);
  for (std::size_t i = 0; i < n; ++i) {
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    double s = y[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

std::vector<double> spd_inverse(const std::vector<double>& a, std::size_t n) {
  const std::vector<double> l = cholesky(a, n);
  std::vector<double> out(n * n);
  for (std::size_t j = 0; j < n; ++j) {
    std::vector<double> e(n, 0.0);
    e[j] = 1;
    const std::vector<double> col = cholesky_solve(l, e);
    for (std::size_t i = 0; i < n; ++i) out[i * n + j] = col[i];
  }
  return out;
}

}  // namespace plotforge
