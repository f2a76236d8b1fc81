#include "datasets/annotations.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"

namespace plotforge {

const std::vector<std::string>& beat_vocabulary() {
  static const std::vector<std::string> v = {
      "exposition",        "rising_action", "climax", "falling_action", "resolution",  // Freytag
      "inciting_incident", "midpoint",      "crisis", "denouement",
  };
  return v;
}

const std::vector<std::string>& emotion_vocabulary() {
  static const std::vector<std::string> v = {
      "joy",     "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation",  // Plutchik
      "neutral",
  };
  return v;
}

const std::vector<std::string>& valence_vocabulary() {
  static const std::vector<std::string> v = {"negative", "neutral", "positive"};
  return v;
}

std::string normalize_label(const std::string& name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '-' || c == '\t') {
      if (!out.empty() && out.back() != '_') out.push_back('_');
    } else {
      out.push_back(static_cast<char>(std::tolower(u)));
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// "beat: climax" -> {"beat", "climax"}; anything else -> {"", ""}.
std::pair<std::string, std::string> label_note(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) return {};
  const std::string key = normalize_label(text.substr(0, colon));
  if (key != "beat" && key != "emotion") return {};
  return {key, normalize_label(text.substr(colon + 1))};
}

}  // namespace

Annotations annotate(const Script& script) {
  Annotations a;
  const std::string genre_field = script.title_field("Genre");
  std::size_t start = 0;
  while (start < genre_field.size()) {
    std::size_t comma = genre_field.find_first_of(",\n", start);
    if (comma == std::string::npos) comma = genre_field.size();
    const std::string g = normalize_label(genre_field.substr(start, comma - start));
    if (!g.empty() && std::find(a.genres.begin(), a.genres.end(), g) == a.genres.end()) {
      a.genres.push_back(g);
    }
    start = comma + 1;
  }

  std::string beat = "none", emotion = "none";
  for (std::size_t i = 0; i < script.elements.size(); ++i) {
    const Element& e = script.elements[i];
    if (e.type == ElementType::kSection && e.depth == 1) ++a.acts;
    if (e.type == ElementType::kNote) {
      const auto [key, value] = label_note(e.text);
      if (key.empty()) continue;
      const auto& vocab = key == "beat" ? beat_vocabulary() : emotion_vocabulary();
      if (std::find(vocab.begin(), vocab.end(), value) == vocab.end()) {
        throw input_error_at(
            script.source, e.line,
            "unknown " + key + " '" + value + "'; known " + key + "s: " + join(vocab) + " (see docs/annotations.md)");
      }
      (key == "beat" ? beat : emotion) = value;
    }
    if (e.type == ElementType::kSceneHeading) {
      if (!a.scenes.empty()) a.scenes.back().end = i;
      SceneInfo s;
      s.heading = i;
      s.end = script.elements.size();
      s.act = a.acts;
      s.beat = beat;
      s.emotion = emotion;
      a.scenes.push_back(s);
    }
  }
  return a;
}

}  // namespace plotforge
