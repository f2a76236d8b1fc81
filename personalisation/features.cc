#include "personalisation/features.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <unordered_set>

#include "base/error.h"
#include "datasets/fountain.h"
#include "emotion/arcs.h"
#include "emotion/scene_labels.h"

namespace plotforge::personalisation {

namespace {

std::vector<std::string> lower_words(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'') {
      w.push_back(static_cast<char>(std::tolower(u)));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

std::unordered_set<std::string> bigrams_of(const std::vector<std::string>& w) {
  std::unordered_set<std::string> out;
  for (std::size_t i = 0; i + 1 < w.size(); ++i) out.insert(w[i] + ' ' + w[i + 1]);
  return out;
}

// Character names that speak in `text` (cues), upper-cased as written.
std::set<std::string> voices_of(std::string_view text) {
  std::set<std::string> out;
  try {
    for (const Element& e : parse_fountain(text, "passage").elements) {
      if (e.type == ElementType::kCharacter) out.insert(e.text);
    }
  } catch (const InputError&) {
    // Not Fountain (a generated passage may not be): no voices found.
  }
  return out;
}

}  // namespace

FeatureSpace::FeatureSpace()
    : names_({"valence", "intensity", "length", "novelty", "dialogue", "new_voice", "exclamation"}) {}

FeatureSpace::FeatureSpace(const std::vector<std::pair<std::string, std::vector<std::string>>>& heads)
    : FeatureSpace() {
  for (const auto& [head, classes] : heads) {
    for (const auto& c : classes) names_.push_back(head + "=" + c);
  }
}

nlohmann::json FeatureSpace::to_json(const Features& f) const {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t i = 0; i < names_.size() && i < f.size(); ++i) j[names_[i]] = std::round(f[i] * 1e4) / 1e4;
  return j;
}

std::optional<Features> FeatureSpace::read(const nlohmann::json& j) const {
  if (!j.is_object()) throw InputError("passage features: not an object of name -> number");
  Features f(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const auto it = j.find(names_[i]);
    if (it == j.end()) return std::nullopt;
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      throw InputError("passage features: '" + names_[i] + "' is not a finite number");
    }
    f[i] = it->get<double>();
  }
  return f;
}

StorySoFar::StorySoFar(std::string_view story) : bigrams(bigrams_of(lower_words(story))), voices(voices_of(story)) {}

Features passage_features(std::string_view passage, const StorySoFar& story) {
  Features f(FeatureSpace::kTextFeatures, 0.0);
  const emotion::PassageReading r = emotion::read_passage(passage, emotion::Vader::builtin());
  f[0] = r.valence;
  f[1] = std::fabs(r.valence);
  const int words = emotion::count_words(passage);
  f[2] = std::min(2.0, words / 100.0);
  const auto mine = bigrams_of(lower_words(passage));
  if (!mine.empty()) {
    std::size_t fresh = 0;
    for (const auto& b : mine) fresh += !story.bigrams.count(b);
    f[3] = static_cast<double>(fresh) / mine.size();
  }
  // r.words counts dialogue words when there is dialogue, else all words.
  const std::set<std::string> speakers = voices_of(passage);
  f[4] = words > 0 && !speakers.empty() ? std::min(1.0, static_cast<double>(r.words) / words) : 0.0;
  f[5] = std::any_of(speakers.begin(), speakers.end(), [&](const std::string& s) { return !story.voices.count(s); });
  int marks = 0, sentences = 0;
  for (char c : passage) {
    marks += c == '!' || c == '?';
    sentences += c == '!' || c == '?' || c == '.';
  }
  f[6] = sentences > 0 ? std::min(1.0, static_cast<double>(marks) / sentences) : 0.0;
  return f;
}

}  // namespace plotforge::personalisation
