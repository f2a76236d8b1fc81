// Labels derived from a scene's text instead of read from its notes
// (docs/annotations.md, "Derived labels").
//
// The dataset layer knows only where derived labels go; how they are
// computed (VADER valence, a user's emotion lexicon) lives in emotion/,
// which hands a SceneLabeler down. Rules:
//  - the valence class is set on every scene the labeler scores;
//  - the derived emotion fills only scenes no [[emotion:]] note labels: an
//    explicit note always wins, and its token stays <emotion=...>, while a
//    derived one is written <derived_emotion=...>.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "datasets/documents.h"

namespace plotforge {

struct DerivedLabels {
  std::string valence = "none";  // a valence_vocabulary() name, or "none"
  std::string emotion = "none";  // an emotion_vocabulary() name, or "none"
};

// Called with a scene's Fountain text, its control line left out.
using SceneLabeler = std::function<DerivedLabels(std::string_view scene_text)>;

// Labels every scene of `doc` and rewrites its control line, moving the
// offsets of what follows. Throws std::logic_error if the labeler answers
// a name outside the vocabularies (a bug in the labeler, not bad input).
void derive_scene_labels(Document& doc, const SceneLabeler& labeler);

}  // namespace plotforge
