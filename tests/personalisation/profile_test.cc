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

Features along(int d, double v) {
  Features f{};
  f[d] = v;
  return f;
}

TEST(Profile, OneChoiceIsOneNewtonStep) {
  // From N(0, I): two candidates differing in feature 0 by 1; the first is
  // chosen. p = (1/2, 1/2), g = e0 / 2, H = e0 e0^T / 4, so the precision's
  // (0, 0) entry becomes 1.25 and the mean moves to 0.5 / 1.25 = 0.4 along e0.
  Profile p = Profile::prior();
  p.observe({along(0, 1), along(0, 0)}, 0);
  EXPECT_NEAR(p.mean()[0], 0.4, 1e-12);
  for (int d = 1; d < kFeatures; ++d) EXPECT_EQ(p.mean()[d], 0.0);
  EXPECT_NEAR(p.precision()[0], 1.25, 1e-12);
  EXPECT_NEAR(p.precision()[1 * kFeatures + 1], 1.0, 1e-12);
  EXPECT_EQ(p.choices(), 1);
}

TEST(Profile, LearnsAPlantedTasteAndItsSign) {
  // A viewer who always takes the darker (lower-valence) candidate.
  Profile p = Profile::prior();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int t = 0; t < 60; ++t) {
    std::vector<Features> shown;
    for (int i = 0; i < 4; ++i) {
      Features f{};
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
  Profile p = Profile::prior();
  p.observe({along(2, 0.5), along(2, 0.5), along(2, 0.5)}, 1);
  for (int d = 0; d < kFeatures; ++d) EXPECT_NEAR(p.mean()[d], 0.0, 1e-12);
  EXPECT_NEAR(p.precision()[2 * kFeatures + 2], 1.0, 1e-12);
  Profile q = Profile::prior();
  q.observe({along(0, 1)}, 0);  // one candidate: no choice was made
  EXPECT_EQ(q.choices(), 0);
}

TEST(Profile, ANewViewerStartsFromTheAudienceWithWiderDoubt) {
  Profile audience = Profile::prior();
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
  Profile p = Profile::prior();
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
  Profile p = Profile::prior();
  p.observe({along(1, 1), along(1, 0)}, 0);
  const Profile q = Profile::from_json(p.to_json());
  EXPECT_EQ(q.mean(), p.mean());
  EXPECT_EQ(q.precision(), p.precision());
  EXPECT_EQ(q.choices(), 1);
  EXPECT_THROW(Profile::from_json({{"mean", {1, 2}}}), InputError);
  nlohmann::json bad = p.to_json();
  bad["mean"][0] = "x";
  EXPECT_THROW(Profile::from_json(bad), InputError);
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
  EXPECT_EQ(features_from_json(features_json(f))[5], 1.0);
  EXPECT_THROW(features_from_json({{"valence", 1}}), InputError);
}

}  // namespace
}  // namespace plotforge::personalisation
