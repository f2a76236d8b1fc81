#include "personalisation/profile.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/cholesky.h"
#include "base/error.h"

namespace plotforge::personalisation {

namespace {

using Vector = std::vector<double>;
using Matrix = std::vector<double>;  // n x n, row-major

double dot(const Vector& a, const Vector& b) { return std::inner_product(a.begin(), a.end(), b.begin(), 0.0); }

std::vector<double> softmax(const std::vector<double>& s) {
  const double m = *std::max_element(s.begin(), s.end());
  std::vector<double> p(s.size());
  double z = 0;
  for (std::size_t i = 0; i < s.size(); ++i) z += p[i] = std::exp(s[i] - m);
  for (double& x : p) x /= z;
  return p;
}

}  // namespace

Profile Profile::prior(const FeatureSpace& space, double prior_precision) {
  Profile p;
  p.names_ = space.names();
  const std::size_t n = p.size();
  p.mean_.assign(n, 0.0);
  p.precision_.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) p.precision_[i * n + i] = prior_precision;
  return p;
}

Profile Profile::from_audience(const Profile& audience, double spread) {
  const std::size_t n = audience.size();
  Matrix cov = audience.covariance();
  for (std::size_t i = 0; i < n; ++i) cov[i * n + i] += spread;
  Profile p;
  p.names_ = audience.names_;
  p.mean_ = audience.mean_;
  p.precision_ = spd_inverse(cov, n);
  return p;
}

Matrix Profile::covariance() const { return spd_inverse(precision_, size()); }

void Profile::observe(const std::vector<Features>& shown, std::size_t chosen) {
  if (shown.size() < 2 || chosen >= shown.size()) return;  // nothing to compare
  const std::size_t D = size();
  for (const auto& x : shown) {
    if (x.size() != D) {
      throw InputError("a candidate has " + std::to_string(x.size()) + " features; the profile has " +
                       std::to_string(D));
    }
  }
  std::vector<double> s;
  for (const auto& x : shown) s.push_back(dot(mean_, x));
  const std::vector<double> p = softmax(s);
  Vector xbar(D, 0.0);
  for (std::size_t i = 0; i < shown.size(); ++i)
    for (std::size_t d = 0; d < D; ++d) xbar[d] += p[i] * shown[i][d];
  Vector g(D);
  for (std::size_t d = 0; d < D; ++d) g[d] = shown[chosen][d] - xbar[d];
  for (std::size_t i = 0; i < shown.size(); ++i)
    for (std::size_t a = 0; a < D; ++a)
      for (std::size_t b = 0; b < D; ++b) precision_[a * D + b] += p[i] * shown[i][a] * shown[i][b];
  for (std::size_t a = 0; a < D; ++a)
    for (std::size_t b = 0; b < D; ++b) precision_[a * D + b] -= xbar[a] * xbar[b];
  const Vector step = cholesky_solve(cholesky(precision_, D), g);
  for (std::size_t d = 0; d < D; ++d) mean_[d] += step[d];
  ++choices_;
}

std::vector<double> Profile::sample_scores(const std::vector<Features>& candidates, std::mt19937_64& rng) const {
  // w = mean + L^-T z, with precision = L L^T, has covariance precision^-1.
  const std::size_t D = size();
  const Matrix l = cholesky(precision_, D);
  std::normal_distribution<double> normal;
  Vector z(D), w(D);
  for (double& x : z) x = normal(rng);
  for (std::size_t i = D; i-- > 0;) {
    double s = z[i];
    for (std::size_t k = i + 1; k < D; ++k) s -= l[k * D + i] * w[k];
    w[i] = s / l[i * D + i];
  }
  for (std::size_t d = 0; d < D; ++d) w[d] += mean_[d];
  std::vector<double> out;
  for (const auto& x : candidates) out.push_back(dot(w, x));
  return out;
}

std::vector<double> Profile::mean_scores(const std::vector<Features>& candidates) const {
  std::vector<double> out;
  for (const auto& x : candidates) out.push_back(dot(mean_, x));
  return out;
}

double Profile::score_variance(const Features& x) const {
  return dot(x, cholesky_solve(cholesky(precision_, size()), x));
}

std::vector<double> Profile::choice_probabilities(const std::vector<Features>& candidates) const {
  return softmax(mean_scores(candidates));
}

nlohmann::json Profile::to_json() const {
  return {{"features", names_}, {"mean", mean_}, {"precision", precision_}, {"choices", choices_}};
}

Profile Profile::from_json(const nlohmann::json& j, const FeatureSpace& space, double prior_precision) {
  Profile stored;
  try {
    stored.names_ = j.contains("features") ? j.at("features").get<std::vector<std::string>>() : FeatureSpace().names();
    stored.mean_ = j.at("mean").get<Vector>();
    stored.precision_ = j.at("precision").get<Matrix>();
    stored.choices_ = j.at("choices").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("stored profile: ") + e.what());
  }
  const std::size_t n = stored.size();
  if (stored.mean_.size() != n) throw InputError("stored profile: 'mean' does not have one value per feature");
  if (stored.precision_.size() != n * n) throw InputError("stored profile: 'precision' is not features x features");
  for (double x : stored.mean_)
    if (!std::isfinite(x)) throw InputError("stored profile: 'mean' holds a non-finite number");
  for (double x : stored.precision_)
    if (!std::isfinite(x)) throw InputError("stored profile: 'precision' holds a non-finite number");
  if (stored.names_ == space.names()) return stored;

  // Carry it into `space` through the covariance, where dropping a feature
  // is marginalising it out.
  const Matrix old_cov = stored.covariance();
  Profile p = prior(space, prior_precision);
  const std::size_t m = p.size();
  std::vector<long> from(m, -1);
  for (std::size_t i = 0; i < m; ++i) {
    const auto it = std::find(stored.names_.begin(), stored.names_.end(), p.names_[i]);
    if (it != stored.names_.end()) from[i] = it - stored.names_.begin();
  }
  Matrix cov(m * m, 0.0);
  for (std::size_t i = 0; i < m; ++i) {
    if (from[i] < 0) {
      cov[i * m + i] = 1.0 / prior_precision;
      continue;
    }
    p.mean_[i] = stored.mean_[from[i]];
    for (std::size_t k = 0; k < m; ++k) {
      if (from[k] >= 0) cov[i * m + k] = old_cov[from[i] * n + from[k]];
    }
  }
  p.precision_ = spd_inverse(cov, m);
  p.choices_ = stored.choices_;
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
