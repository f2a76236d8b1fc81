// The choice model on hand-made choice sequences whose answers are known
// (personalisation/profile.h), and the passage features on texts whose
// features can be counted by hand.
#include "personalisation/profile.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "base/error.h"
#include "personalisation/features.h"

namespace plotforge::personalisation {
namespace {

const FeatureSpace kText;  // the seven text features
const int kFeatures = static_cast<int>(FeatureSpace::kTextFeatures);

Features along(int d, double v, int size = kFeatures) {
  Features f(size, 0.0);
  f[d] = v;
  return f;
}

TEST(Profile, OneChoiceIsOneNewtonStep) {
  // From N(0, I): two candidates differing in feature 0 by 1; the first is
  // chosen. p = (1/2, 1/2), g = e0 / 2, H = e0 e0^T / 4, so the precision's
  // (0, 0) entry becomes 1.25 and the mean moves to 0.5 / 1.25 = 0.4 along e0.
  Profile p = Profile::prior(kText);
  p.observe({along(0, 1), along(0, 0)}, 0);
  EXPECT_NEAR(p.mean()[0], 0.4, 1e-12);
  for (int d = 1; d < kFeatures; ++d) EXPECT_EQ(p.mean()[d], 0.0);
  EXPECT_NEAR(p.precision()[0], 1.25, 1e-12);
  EXPECT_NEAR(p.precision()[1 * kFeatures + 1], 1.0, 1e-12);
  EXPECT_EQ(p.choices(), 1);
}

TEST(Profile, LearnsAPlantedTasteAndItsSign) {
  // A viewer who always takes the darker (lower-valence) candidate.
  Profile p = Profile::prior(kText);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int t = 0; t < 60; ++t) {
    std::vector<Features> shown;
    for (int i = 0; i < 4; ++i) {
      Features f(kFeatures);
      for (double& x : f) x = u(rng);
      shown.push_back(f);
    }
    std::size_t darkest = 0;
    for (std::size_t i = 1; i < shown.size(); ++i)
      if (shown[i][0] < shown[darkest][0]) darkest = i;
    p.observe(shown, darkest);
  }
  EXPECT_LT(p.mean()[0], -2.0);  // valence: strongly negative
  for (int d = 1; d < kFeatures; ++d) EXPECT_LT(std::fabs(p.mean()[d]), std::fabs(p.mean()[0]) / 3) << d;
  // Its ranking now puts the darkest first, whatever the draw.
  const std::vector<Features> offer = {along(0, 0.8), along(0, -0.9), along(0, 0.1)};
  for (std::uint64_t seed = 0; seed < 20; ++seed) EXPECT_EQ(rank_candidates(p, offer, 2, seed)[0], 1u);
}

TEST(Profile, IdenticalCandidatesTeachNothing) {
  Profile p = Profile::prior(kText);
  p.observe({along(2, 0.5), along(2, 0.5), along(2, 0.5)}, 1);
  for (int d = 0; d < kFeatures; ++d) EXPECT_NEAR(p.mean()[d], 0.0, 1e-12);
  EXPECT_NEAR(p.precision()[2 * kFeatures + 2], 1.0, 1e-12);
  Profile q = Profile::prior(kText);
  q.observe({along(0, 1)}, 0);  // one candidate: no choice was made
  EXPECT_EQ(q.choices(), 0);
}

TEST(Profile, ANewViewerStartsFromTheAudienceWithWiderDoubt) {
  Profile audience = Profile::prior(kText);
  for (int t = 0; t < 20; ++t) audience.observe({along(3, 1), along(3, 0)}, 0);  // everyone likes novelty
  const Profile viewer = Profile::from_audience(audience, 1.0);
  for (int d = 0; d < kFeatures; ++d) EXPECT_NEAR(viewer.mean()[d], audience.mean()[d], 1e-12);
  const Features x = along(3, 1);
  EXPECT_NEAR(viewer.score_variance(x), audience.score_variance(x) + 1.0, 1e-9);
  // Their own contrary choices soon outweigh the audience's.
  Profile me = viewer;
  for (int t = 0; t < 10; ++t) me.observe({along(3, 1), along(3, 0)}, 1);
  EXPECT_LT(me.mean()[3], audience.mean()[3]);
}

TEST(Profile, RankingKeepsAnExplorationSlot) {
  Profile p = Profile::prior(kText);
  for (int t = 0; t < 30; ++t) p.observe({along(0, 1), along(0, -1)}, 0);  // certain about valence only
  // Candidate 3 is unremarkable in valence but far out on an unexplored feature.
  const std::vector<Features> offer = {along(0, 0.9), along(0, 0.8), along(0, -0.5), along(5, 1.0)};
  const auto order = rank_candidates(p, offer, 3, 1);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], 0u);
  EXPECT_EQ(order[1], 1u);
  EXPECT_EQ(order[2], 3u);  // the exploration slot: the most uncertain of the rest
  EXPECT_EQ(rank_candidates(p, offer, 1, 1).size(), 1u);
}

TEST(Profile, JsonRoundTripAndBadStoredProfiles) {
  Profile p = Profile::prior(kText);
  p.observe({along(1, 1), along(1, 0)}, 0);
  const Profile q = Profile::from_json(p.to_json(), kText);
  EXPECT_EQ(q.mean(), p.mean());
  EXPECT_EQ(q.precision(), p.precision());
  EXPECT_EQ(q.choices(), 1);
  EXPECT_THROW(Profile::from_json({{"mean", {1, 2}}}, kText), InputError);
  nlohmann::json bad = p.to_json();
  bad["mean"][0] = "x";
  EXPECT_THROW(Profile::from_json(bad, kText), InputError);
  bad = p.to_json();
  bad["precision"].erase(bad["precision"].begin());
  EXPECT_THROW(Profile::from_json(bad, kText), InputError);  // not features x features
  // A profile stored before profiles named their features (stories schema
  // 2) is over the text features.
  nlohmann::json old = p.to_json();
  old.erase("features");
  EXPECT_EQ(Profile::from_json(old, kText).mean(), p.mean());
}

TEST(Profile, CarriedIntoAnotherFeatureSpaceKeepsWhatItShares) {
  // A server restarted with a classifier: two new features. The shared
  // features keep their mean and covariance (so their scores' variances),
  // the new ones start from the prior, independent of the rest.
  Profile p = Profile::prior(kText);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int t = 0; t < 25; ++t) {
    std::vector<Features> shown(3, Features(kFeatures));
    for (auto& f : shown)
      for (double& x : f) x = u(rng);
    p.observe(shown, t % 3);
  }
  const FeatureSpace wider({{"genre", {"comedy", "tragedy"}}});
  ASSERT_EQ(wider.size(), 9u);
  EXPECT_EQ(wider.names()[7], "genre=comedy");
  const Profile q = Profile::from_json(p.to_json(), wider);
  EXPECT_EQ(q.names(), wider.names());
  EXPECT_EQ(q.choices(), p.choices());
  Features x(kFeatures), y(9, 0.0);
  for (int d = 0; d < kFeatures; ++d) y[d] = x[d] = u(rng);
  EXPECT_NEAR(q.score_variance(y), p.score_variance(x), 1e-9);
  EXPECT_NEAR(q.mean_scores({y})[0], p.mean_scores({x})[0], 1e-12);
  EXPECT_NEAR(q.score_variance(along(8, 1, 9)), 1.0, 1e-9);
  EXPECT_EQ(q.mean()[7], 0.0);
  // And back: the new features are marginalised out, the rest unchanged.
  const Profile back = Profile::from_json(q.to_json(), kText);
  for (int d = 0; d < kFeatures; ++d) EXPECT_NEAR(back.mean()[d], p.mean()[d], 1e-12);
  for (std::size_t i = 0; i < p.precision().size(); ++i) EXPECT_NEAR(back.precision()[i], p.precision()[i], 1e-8);
  // Reordered names are matched by name, not position.
  nlohmann::json reversed = p.to_json();
  auto names = reversed["features"].get<std::vector<std::string>>();
  std::swap(names[0], names[1]);
  reversed["features"] = names;
  EXPECT_NEAR(Profile::from_json(reversed, kText).mean()[1], p.mean()[0], 1e-12);
}

TEST(Features, CountedByHand) {
  const std::string story = "INT. HALL - DAY\n\nHAMLET\nTo be or not to be.\n";
  const std::string passage = "HORATIO\nWhat a wonderful day! Is it?\n";
  const Features f = passage_features(passage, StorySoFar(story));
  EXPECT_GT(f[0], 0.3);  // valence: "wonderful"
  EXPECT_NEAR(f[1], std::fabs(f[0]), 1e-12);
  EXPECT_NEAR(f[2], 7 / 100.0, 1e-12);  // seven words, the cue included
  EXPECT_NEAR(f[3], 1.0, 1e-12);        // no bigram of it was in the story
  EXPECT_NEAR(f[4], 6 / 7.0, 1e-12);    // six of the seven words are spoken
  EXPECT_EQ(f[5], 1.0);                 // Horatio has not spoken before
  EXPECT_NEAR(f[6], 1.0, 1e-12);        // "!" and "?" end both sentences
  const Features again = passage_features("HAMLET\nTo be or not to be.\n", StorySoFar(story));
  EXPECT_NEAR(again[3], 0.0, 1e-12);  // all old
  EXPECT_EQ(again[5], 0.0);           // Hamlet has spoken
  EXPECT_EQ(f.size(), kText.size());
  EXPECT_EQ(kText.read(kText.to_json(f)).value()[5], 1.0);
  EXPECT_FALSE(kText.read({{"valence", 1}}).has_value());  // the rest missing
  nlohmann::json bad = kText.to_json(f);
  bad["novelty"] = "high";
  EXPECT_THROW(kText.read(bad), InputError);
  EXPECT_THROW(kText.read(nlohmann::json::array()), InputError);
}

}  // namespace
}  // namespace plotforge::personalisation
