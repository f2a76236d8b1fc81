#include "personalisation/profile.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"

namespace plotforge::personalisation {

namespace {

constexpr int D = kFeatures;
using Matrix = std::array<double, D * D>;

// Cholesky factor L (lower) of a symmetric positive definite A = L L^T.
Matrix cholesky(const Matrix& a) {
  Matrix l{};
  for (int i = 0; i < D; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = a[i * D + j];
      for (int k = 0; k < j; ++k) s -= l[i * D + k] * l[j * D + k];
      if (i == j) {
        l[i * D + i] = std::sqrt(std::max(s, 1e-12));
      } else {
        l[i * D + j] = s / l[j * D + j];
      }
    }
  }
  return l;
}

// Solves A x = b with A = L L^T.
Features solve(const Matrix& l, const Features& b) {
  Features y{}, x{};
  for (int i = 0; i < D; ++i) {
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= l[i * D + k] * y[k];
    y[i] = s / l[i * D + i];
  }
  for (int i = D - 1; i >= 0; --i) {
    double s = y[i];
    for (int k = i + 1; k < D; ++k) s -= l[k * D + i] * x[k];
    x[i] = s / l[i * D + i];
  }
  return x;
}

double dot(const Features& a, const Features& b) { return std::inner_product(a.begin(), a.end(), b.begin(), 0.0); }

std::vector<double> softmax(const std::vector<double>& s) {
  const double m = *std::max_element(s.begin(), s.end());
  std::vector<double> p(s.size());
  double z = 0;
  for (std::size_t i = 0; i < s.size(); ++i) z += p[i] = std::exp(s[i] - m);
  for (double& x : p) x /= z;
  return p;
}

}  // namespace

Profile Profile::prior(double prior_precision) {
  Profile p;
  for (int i = 0; i < D; ++i) p.precision_[i * D + i] = prior_precision;
  return p;
}

Profile Profile::from_audience(const Profile& audience, double spread) {
  Matrix cov = audience.covariance();
  for (int i = 0; i < D; ++i) cov[i * D + i] += spread;
  // Invert cov column by column.
  const Matrix l = cholesky(cov);
  Profile p;
  p.mean_ = audience.mean_;
  for (int j = 0; j < D; ++j) {
    Features e{};
    e[j] = 1;
    const Features col = solve(l, e);
    for (int i = 0; i < D; ++i) p.precision_[i * D + j] = col[i];
  }
  return p;
}

Matrix Profile::covariance() const {
  const Matrix l = cholesky(precision_);
  Matrix c{};
  for (int j = 0; j < D; ++j) {
    Features e{};
    e[j] = 1;
    const Features col = solve(l, e);
    for (int i = 0; i < D; ++i) c[i * D + j] = col[i];
  }
  return c;
}

void Profile::observe(const std::vector<Features>& shown, std::size_t chosen) {
  if (shown.size() < 2 || chosen >= shown.size()) return;  // nothing to compare
  std::vector<double> s;
  for (const auto& x : shown) s.push_back(dot(mean_, x));
  const std::vector<double> p = softmax(s);
  Features xbar{};
  for (std::size_t i = 0; i < shown.size(); ++i)
    for (int d = 0; d < D; ++d) xbar[d] += p[i] * shown[i][d];
  Features g{};
  for (int d = 0; d < D; ++d) g[d] = shown[chosen][d] - xbar[d];
  for (std::size_t i = 0; i < shown.size(); ++i)
    for (int a = 0; a < D; ++a)
      for (int b = 0; b < D; ++b) precision_[a * D + b] += p[i] * shown[i][a] * shown[i][b];
  for (int a = 0; a < D; ++a)
    for (int b = 0; b < D; ++b) precision_[a * D + b] -= xbar[a] * xbar[b];
  const Features step = solve(cholesky(precision_), g);
  for (int d = 0; d < D; ++d) mean_[d] += step[d];
  ++choices_;
}

std::vector<double> Profile::sample_scores(const std::vector<Features>& candidates, std::mt19937_64& rng) const {
  // w = mean + L^-T z, with precision = L L^T, has covariance precision^-1.
  const Matrix l = cholesky(precision_);
  std::normal_distribution<double> normal;
  Features z{}, w{};
  for (double& x : z) x = normal(rng);
  for (int i = D - 1; i >= 0; --i) {
    double s = z[i];
    for (int k = i + 1; k < D; ++k) s -= l[k * D + i] * w[k];
    w[i] = s / l[i * D + i];
  }
  for (int d = 0; d < D; ++d) w[d] += mean_[d];
  std::vector<double> out;
  for (const auto& x : candidates) out.push_back(dot(w, x));
  return out;
}

std::vector<double> Profile::mean_scores(const std::vector<Features>& candidates) const {
  std::vector<double> out;
  for (const auto& x : candidates) out.push_back(dot(mean_, x));
  return out;
}

double Profile::score_variance(const Features& x) const { return dot(x, solve(cholesky(precision_), x)); }

std::vector<double> Profile::choice_probabilities(const std::vector<Features>& candidates) const {
  return softmax(mean_scores(candidates));
}

nlohmann::json Profile::to_json() const { return {{"mean", mean_}, {"precision", precision_}, {"choices", choices_}}; }

Profile Profile::from_json(const nlohmann::json& j) {
  Profile p;
  try {
    p.mean_ = j.at("mean").get<Features>();
    p.precision_ = j.at("precision").get<Matrix>();
    p.choices_ = j.at("choices").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("stored profile: ") + e.what());
  }
  for (double x : p.mean_)
    if (!std::isfinite(x)) throw InputError("stored profile: 'mean' holds a non-finite number");
  for (double x : p.precision_)
    if (!std::isfinite(x)) throw InputError("stored profile: 'precision' holds a non-finite number");
  return p;
}

std::vector<std::size_t> rank_candidates(const Profile& viewer, const std::vector<Features>& candidates, std::size_t k,
                                         std::uint64_t seed) {
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  if (candidates.empty()) return order;
  std::mt19937_64 rng(seed);
  const std::vector<double> s = viewer.sample_scores(candidates, rng);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
  k = std::min(k, candidates.size());
  if (k >= 2 && k < candidates.size()) {
    // The exploration slot: of those not in the top k - 1, the most uncertain.
    auto it = std::max_element(order.begin() + (k - 1), order.end(), [&](std::size_t a, std::size_t b) {
      return viewer.score_variance(candidates[a]) < viewer.score_variance(candidates[b]);
    });
    std::iter_swap(order.begin() + (k - 1), it);
  }
  order.resize(k);
  return order;
}

}  // namespace plotforge::personalisation
