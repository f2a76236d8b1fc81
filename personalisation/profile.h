// A viewer's taste: a Bayesian conditional-logit model of their choices,
// updated online, ranked by Thompson sampling (docs/personalisation.md).
//
// A viewer shown candidates x_1..x_m (features.h) chooses i with
// probability softmax(w . x)_i. The posterior over w is kept Gaussian,
// N(mean, precision^-1). After each choice, one Newton step of the log
// posterior at the current mean (the Laplace approximation, online):
//   p = softmax(X mean),  g = x_chosen - sum p_i x_i,
//   H = sum p_i x_i x_i^T - (sum p_i x_i)(sum p_i x_i)^T,
//   precision += H,  mean += precision^-1 g.
// So a choice between near-identical candidates teaches little (H small),
// and a viewer's certainty grows with the choices they make.
//
// Why Thompson sampling over LinUCB: the likelihood is a choice among
// several shown candidates, which the conditional logit models directly
// (LinUCB assumes a linear reward per arm), and sampling w from the
// posterior explores in proportion to what is still unknown without an
// exploration constant to tune.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "personalisation/features.h"

namespace plotforge::personalisation {

class Profile {
 public:
  // N(0, I / prior_precision) over `space`'s features: the audience model's
  // starting point.
  static Profile prior(const FeatureSpace& space, double prior_precision = 1.0);
  // A new viewer's start: the audience's mean, with the audience's
  // uncertainty widened by `spread` (variance added per feature), so the
  // viewer's own choices soon outweigh the audience's.
  static Profile from_audience(const Profile& audience, double spread = 1.0);

  // Every candidate's features must be in this profile's space (size()).
  void observe(const std::vector<Features>& shown, std::size_t chosen);

  // Scores of the candidates under a w drawn from the posterior.
  std::vector<double> sample_scores(const std::vector<Features>& candidates, std::mt19937_64& rng) const;
  // Scores under the posterior mean, and each score's posterior variance.
  std::vector<double> mean_scores(const std::vector<Features>& candidates) const;
  double score_variance(const Features& x) const;
  // The probability of each choice under the posterior mean.
  std::vector<double> choice_probabilities(const std::vector<Features>& candidates) const;

  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return names_.size(); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& precision() const { return precision_; }  // [size, size], row-major
  long choices() const { return choices_; }

  // {"features": [names], "mean": [...], "precision": [...], "choices": n}
  nlohmann::json to_json() const;
  // A stored profile, carried into `space`: features it shares keep their
  // mean and covariance (the stored posterior's marginal), features it
  // lacks start from the prior N(0, 1 / prior_precision), independent of
  // the rest, and features `space` lacks are dropped. A profile stored
  // without "features" is over the seven text features (stories schema 2).
  // Throws InputError naming the field for a malformed stored profile.
  static Profile from_json(const nlohmann::json& j, const FeatureSpace& space, double prior_precision = 1.0);

 private:
  std::vector<double> covariance() const;
  std::vector<std::string> names_;
  std::vector<double> mean_, precision_;
  long choices_ = 0;
};

// The order to show candidates in and which to keep: the top k - 1 by a
// Thompson sample, then one exploration slot for the remaining candidate
// whose score is most uncertain (k = 1: the top one alone). Returns indices
// into `candidates`, best first.
std::vector<std::size_t> rank_candidates(const Profile& viewer, const std::vector<Features>& candidates, std::size_t k,
                                         std::uint64_t seed);

}  // namespace plotforge::personalisation
