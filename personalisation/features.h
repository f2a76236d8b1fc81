// Features of a candidate passage: what a viewer's choice among candidates
// is modelled on (docs/personalisation.md). Computed when the passage is
// generated and stored with it, so a choice made later is learnt from the
// features the viewer was shown.
//
// Every feature is scaled to about [-1, 1] or [0, 1], so one prior fits all:
//  valence      the passage's measured valence (emotion/scene_labels.h)
//  intensity    |valence|: strong feeling either way
//  length       words / 100, at most 2
//  novelty      share of the passage's word bigrams not in the story so far
//  dialogue     share of its words that are spoken
//  new_voice    1 when a character speaks who has not spoken in the story yet
//  exclamation  "!" and "?" per sentence, at most 1
//
// No constant feature: a choice model compares candidates with each other,
// and a constant cancels.
#pragma once

#include <array>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace plotforge::personalisation {

constexpr int kFeatures = 7;
using Features = std::array<double, kFeatures>;

const std::array<const char*, kFeatures>& feature_names();

// What novelty and new voices are measured against: the story so far (its
// path), read once for all of a node's candidates.
struct StorySoFar {
  explicit StorySoFar(std::string_view story);
  std::unordered_set<std::string> bigrams;  // its word bigrams, lower case
  std::set<std::string> voices;             // the characters who have spoken
};

// `passage`: the candidate's Fountain text.
Features passage_features(std::string_view passage, const StorySoFar& story);

nlohmann::json features_json(const Features& f);  // {"valence": ..., ...}
// Throws InputError naming the missing or non-numeric feature.
Features features_from_json(const nlohmann::json& j);

}  // namespace plotforge::personalisation
