// Labels derived from a scene's (or a generated passage's) text: its
// valence class from VADER and, given the user's lexicon, its dominant
// Plutchik emotion. `plotforge prepare --label-emotions` writes them into
// the corpus (datasets/derived_labels.h); the story server measures each
// passage with the same reading to steer stories along an arc.
//
// A passage's valence is the word-weighted mean of its speeches' compound
// scores (as arcs.h weighs scenes); a passage without dialogue is read
// whole. Its class uses VADER's own cut-offs: compound >= 0.05 positive,
// <= -0.05 negative, neutral between; no words at all is "none".
#pragma once

#include <string>
#include <string_view>

#include "datasets/derived_labels.h"
#include "emotion/emolex.h"
#include "emotion/vader.h"

namespace plotforge::emotion {

struct PassageReading {
  double valence = 0;      // [-1, 1]
  int words = 0;           // words read (dialogue, or all of it without dialogue)
  EmotionCounts emotions;  // with a lexicon only
};

// Reads Fountain text; text that does not parse as Fountain (a generated
// passage with an unclosed note, say) is read whole.
PassageReading read_passage(std::string_view fountain, const Vader& vader, const EmotionLexicon* lexicon = nullptr);

// "positive", "neutral" or "negative" by the cut-offs above.
std::string valence_class(double valence);

// The labeler prepare hands to the dataset layer. `vader` (and `lexicon`,
// when given) must outlive it.
SceneLabeler scene_labeler(const Vader& vader, const EmotionLexicon* lexicon);

}  // namespace plotforge::emotion
