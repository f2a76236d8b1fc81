// Annotations read from the script itself (schema: docs/annotations.md).
//
//   Genre: tragedy, romance        title-page key; comma-separated
//   [[beat: climax]]               labels the scenes that follow
//   [[emotion: fear]]              likewise, independently of beats
//   # ACT III                      a depth-1 section starts an act
//
// A beat or emotion note applies to every scene whose heading comes after it,
// until the next note of the same kind. Content before the first scene
// heading belongs to no scene. Names are lower-case words from the
// vocabularies below; an unknown name is an InputError naming file and line.
#pragma once

#include <string>
#include <vector>

#include "datasets/script.h"

namespace plotforge {

// Freytag's five acts, plus the beats screenwriting manuals add most often.
const std::vector<std::string>& beat_vocabulary();
// Plutchik's eight basic emotions plus "neutral".
const std::vector<std::string>& emotion_vocabulary();
// Valence classes. No note sets them: they are derived from the scene's
// dialogue (plotforge prepare --label-emotions, docs/annotations.md).
const std::vector<std::string>& valence_vocabulary();

struct SceneInfo {
  std::size_t heading;  // index of the scene heading in Script::elements
  std::size_t end;      // one past the scene's last element
  int act = 0;          // 1-based act, 0 before the first depth-1 section
  std::string beat = "none";
  std::string emotion = "none";
};

struct Annotations {
  std::vector<std::string> genres;  // lower-case, in title-page order
  int acts = 0;                     // depth-1 sections
  std::vector<SceneInfo> scenes;
};

Annotations annotate(const Script& script);

// Lower-cases and trims; spaces and '-' become '_' ("Rising Action" ->
// "rising_action"), so names are usable inside control tokens.
std::string normalize_label(const std::string& name);

}  // namespace plotforge
