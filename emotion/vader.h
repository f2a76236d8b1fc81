// VADER sentiment (Hutto & Gilbert, ICWSM 2014) in C++: the lexicon
// (emotion/lexicons/vader/) and the rules of the reference implementation,
// vadersentiment 3.3.2, which the parity test compares against line by line
// (docs/emotion.md lists where and why the two can differ):
//
//  - a token's valence is its lexicon rating (-4..+4), looked up lower-case
//    after the punctuation around it is stripped (unless that leaves two
//    characters or fewer, which keeps emoticons);
//  - up to three preceding boosters and dampeners ("very", "slightly") add
//    or take 0.293, scaled by distance (1, 0.95, 0.9); ALL CAPS words among
//    mixed-case ones add 0.733;
//  - a negation ("not", "never", words with "n't") within three words
//    multiplies by -0.74 ("never so" and "never this" by 1.25 instead);
//    "no" negates the next words; "least" negates unless "at least";
//  - after "but", valences count 1.5 times and before it 0.5 times;
//  - the sum, raised by up to four "!" (0.292 each) and by "??"/"???",
//    is normalized to the compound score x / sqrt(x^2 + 15) in [-1, 1].
//
// Scoring is thread-safe and allocation-light: one Vader serves many
// threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace plotforge::emotion {

struct Polarity {
  double compound = 0;               // [-1, 1], rounded to 4 decimals as the reference does
  double pos = 0, neu = 0, neg = 0;  // proportions, rounded to 3 decimals
};

class Vader {
 public:
  Vader() = default;
  Vader(Vader&&) = default;  // moves keep valence_'s nodes, so the table's pointers stay valid
  Vader(const Vader&) = delete;
  Vader& operator=(const Vader&) = delete;
  // Reads a lexicon in VADER's format (token TAB mean [TAB ...]); throws
  // InputError naming the file and line for a malformed one.
  static Vader load(const std::string& path);
  // The same from the lexicon's text; `path` names it in errors.
  static Vader parse(std::string_view text, const std::string& path);
  // The lexicon shipped with plotforge (emotion/lexicons/vader/), compiled
  // into the binary.
  static const Vader& builtin();

  Polarity score(std::string_view text) const;
  std::size_t size() const { return rated_; }  // tokens with a valence

  // What the rules know of a word, found with one lookup: its valence (when
  // the lexicon rates it) and its roles.
  struct Word {
    const double* valence = nullptr;  // into `valence_`, or null
    double boost = 0;                 // booster (+0.293) or dampener (-0.293)
    bool booster = false, idiom = false, negation = false;
    std::uint16_t is = 0;  // which of the words the rules name it is (kNo, kLeast, ...; vader.cc)
  };

 private:
  void index();
  std::unordered_map<std::string, double> valence_;
  // Every word the lexicon or the rules know, in one open-addressing table
  // (FNV-1a of the lower-cased word, linear probing, at most half full):
  // one probe per word, no division, no node to chase.
  struct Slot {
    std::uint64_t hash = 0;
    std::string key;  // "" for an empty slot
    Word word;
  };
  const Word* find(std::string_view lower, std::uint64_t hash) const;
  std::vector<Slot> table_;
  std::uint64_t mask_ = 0;
  std::size_t rated_ = 0;
};

}  // namespace plotforge::emotion
