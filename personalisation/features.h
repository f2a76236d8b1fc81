// Features of a candidate passage: what a viewer's choice among candidates
// is modelled on (docs/personalisation.md). Computed when the passage is
// generated and stored with it, so a choice made later is learnt from the
// features the viewer was shown.
//
// The text features, each scaled to about [-1, 1] or [0, 1] so one prior
// fits all:
//  valence      the passage's measured valence (emotion/scene_labels.h)
//  intensity    |valence|: strong feeling either way
//  length       words / 100, at most 2
//  novelty      share of the passage's word bigrams not in the story so far
//  dialogue     share of its words that are spoken
//  new_voice    1 when a character speaks who has not spoken in the story yet
//  exclamation  "!" and "?" per sentence, at most 1
// and, when the server runs a scene classifier (inference/scene_classifier.h),
// its probability of each genre, beat and emotion class, named
// "genre=comedy", "beat=climax", "emotion=fear", ... (in [0, 1]).
//
// No constant feature: a choice model compares candidates with each other,
// and a constant cancels.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace plotforge::personalisation {

using Features = std::vector<double>;

// The features a server's candidates carry, in order: the text features,
// then the classifier's classes. Profiles and stored passages name their
// features, so a server started with another classifier still reads them.
class FeatureSpace {
 public:
  static constexpr std::size_t kTextFeatures = 7;
  // The text features alone.
  FeatureSpace();
  // Then one per class of each head: (head name, class names), e.g.
  // ("genre", {"comedy", "tragedy"}) -> "genre=comedy", "genre=tragedy".
  explicit FeatureSpace(const std::vector<std::pair<std::string, std::vector<std::string>>>& heads);

  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return names_.size(); }
  bool operator==(const FeatureSpace& o) const { return names_ == o.names_; }

  // {"valence": ..., "genre=comedy": ...}, rounded to 4 decimals.
  nlohmann::json to_json(const Features& f) const;
  // Stored features in this space's order; nullopt when one of its names is
  // missing (a passage stored before this classifier, or a writer's).
  // Throws InputError naming a present feature that is not a finite number.
  std::optional<Features> read(const nlohmann::json& stored) const;

 private:
  std::vector<std::string> names_;
};

// What novelty and new voices are measured against: the story so far (its
// path), read once for all of a node's candidates.
struct StorySoFar {
  explicit StorySoFar(std::string_view story);
  std::unordered_set<std::string> bigrams;  // its word bigrams, lower case
  std::set<std::string> voices;             // the characters who have spoken
};

// The text features of `passage` (the candidate's Fountain text), in
// FeatureSpace order; a classifier's probabilities are appended after them.
Features passage_features(std::string_view passage, const StorySoFar& story);

}  // namespace plotforge::personalisation
