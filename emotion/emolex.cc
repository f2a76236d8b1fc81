#include "emotion/emolex.h"

#include <cctype>
#include <fstream>

#include "base/error.h"
#include "emotion/words.h"

namespace plotforge::emotion {

namespace {

int emotion_bit(const std::string& name) {
  for (std::size_t i = 0; i < kPlutchik.size(); ++i) {
    if (name == kPlutchik[i]) return static_cast<int>(i);
  }
  if (name == "negative") return 8;
  if (name == "positive") return 9;
  return -1;
}

}  // namespace

std::string EmotionCounts::dominant() const {
  int best = -1, most = 0;
  for (std::size_t i = 0; i < plutchik.size(); ++i) {
    if (plutchik[i] > most) {
      most = plutchik[i];
      best = static_cast<int>(i);
    }
  }
  return best < 0 ? "neutral" : kPlutchik[best];
}

EmotionLexicon EmotionLexicon::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path + ": cannot read the emotion lexicon");
  EmotionLexicon lex;
  std::unordered_map<std::string, std::uint16_t> seen;  // (word -> emotions given), for duplicates
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto where = [&] { return path + ":" + std::to_string(n) + ": "; };
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string::npos ? std::string::npos : line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos || line.find('\t', t2 + 1) != std::string::npos) {
      throw InputError(where() + "expected three tab-separated fields: word, emotion, association (0 or 1)");
    }
    const std::string word = line.substr(0, t1), emotion = line.substr(t1 + 1, t2 - t1 - 1),
                      association = line.substr(t2 + 1);
    if (word.empty()) throw InputError(where() + "the word is empty");
    const int bit = emotion_bit(emotion);
    if (bit < 0) {
      throw InputError(where() + "unknown emotion '" + emotion +
                       "'; expected anger, anticipation, disgust, fear, joy, sadness, surprise, trust, negative or "
                       "positive");
    }
    if (association != "0" && association != "1") {
      throw InputError(where() + "the association '" + association + "' of '" + word + "' is not 0 or 1");
    }
    std::uint16_t& given = seen[word];
    if (given & (1u << bit)) throw InputError(where() + "'" + word + "' and '" + emotion + "' are listed twice");
    given |= static_cast<std::uint16_t>(1u << bit);
    if (association == "1") lex.words_[word] |= static_cast<std::uint16_t>(1u << bit);
  }
  if (seen.empty()) throw InputError(path + ": the emotion lexicon has no entries");
  return lex;
}

EmotionCounts EmotionLexicon::count(std::string_view text) const {
  EmotionCounts c;
  std::string word;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view bare = strip_punctuation(text.substr(start, i - start));
    if (bare.empty()) continue;
    word.assign(bare);
    ascii_lower(word);
    const auto it = words_.find(word);
    if (it == words_.end()) continue;
    for (int k = 0; k < 8; ++k) c.plutchik[k] += (it->second >> k) & 1;
    c.negative += (it->second >> 8) & 1;
    c.positive += (it->second >> 9) & 1;
  }
  return c;
}

}  // namespace plotforge::emotion
