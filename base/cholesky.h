// Small symmetric positive definite systems in double precision, by
// Cholesky factorisation: the viewers' choice models
// (personalisation/profile.h) and the recommenders' fold-in
// (recommendation/recommender.h) solve theirs with it. Matrices are n x n,
// row-major. A pivot that rounding drives to zero or below is clamped to
// 1e-12 rather than failing: the callers' matrices are a prior's precision
// plus positive semidefinite terms.
#pragma once

#include <cstddef>
#include <vector>

namespace plotforge {

// L (lower triangular) with A = L L^T.
std::vector<double> cholesky(const std::vector<double>& a, std::size_t n);
// x with L L^T x = b, from cholesky's L.
std::vector<double> cholesky_solve(const std::vector<double>& l, const std::vector<double>& b);
// A^-1, column by column.
std::vector<double> spd_inverse(const std::vector<double>& a, std::size_t n);

}  // namespace plotforge
