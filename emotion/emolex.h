// Categorical emotions from a word-emotion association lexicon in the NRC
// Emotion Lexicon's (EmoLex) word-level text format, which the user brings
// (NRC's lexicons are free for research only and must not be shipped):
//
//   word<TAB>emotion<TAB>association      e.g.  "abandon\tfear\t1"
//
// emotion: one of Plutchik's eight (anger, anticipation, disgust, fear, joy,
// sadness, surprise, trust) or negative/positive; association 0 or 1. A
// word's lines may come in any order; each (word, emotion) pair once.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace plotforge::emotion {

// Plutchik's eight, in the order the vocabulary lists them
// (datasets/annotations.h emotion_vocabulary() without "neutral").
constexpr std::array<const char*, 8> kPlutchik = {"anger", "anticipation", "disgust",  "fear",
                                                  "joy",   "sadness",      "surprise", "trust"};

struct EmotionCounts {
  std::array<int, 8> plutchik{};  // words associated with each, in kPlutchik order
  int positive = 0, negative = 0;
  // The emotion with most words ("neutral" when none); ties go to the first
  // in kPlutchik order.
  std::string dominant() const;
};

class EmotionLexicon {
 public:
  // Throws InputError naming the file and line: a line without exactly
  // three tab-separated fields, an unknown emotion, an association other
  // than 0 or 1, a (word, emotion) pair given twice, or no entries at all.
  static EmotionLexicon load(const std::string& path);

  // Counts the words of `text` (split at whitespace, punctuation around
  // them stripped, ASCII lower-cased) by the emotions they are associated
  // with.
  EmotionCounts count(std::string_view text) const;
  std::size_t size() const { return words_.size(); }

 private:
  // Bits 0-7: Plutchik's eight in kPlutchik order; 8: negative; 9: positive.
  std::unordered_map<std::string, std::uint16_t> words_;
};

}  // namespace plotforge::emotion
