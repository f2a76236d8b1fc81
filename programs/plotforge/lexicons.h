// The lexicon options, declared once for the commands that read emotions
// (sentiment, prepare --label-emotions).
#pragma once

#include <optional>

#include "emotion/emolex.h"
#include "emotion/vader.h"
#include "programs/common/options.h"

namespace plotforge::programs {

// --lexicon PATH (a VADER-format lexicon instead of the shipped one) and
// --emotion-lexicon PATH (the user's NRC EmoLex-format word-emotion list).
void add_lexicon_options(po::options_description& o);

class Lexicons {
 public:
  // Loads what the options name; throws InputError naming a bad file's line.
  explicit Lexicons(const po::variables_map& vm);
  const emotion::Vader& vader() const { return custom_ ? *custom_ : emotion::Vader::builtin(); }
  const emotion::EmotionLexicon* emotions() const { return emolex_ ? &*emolex_ : nullptr; }

 private:
  std::optional<emotion::Vader> custom_;
  std::optional<emotion::EmotionLexicon> emolex_;
};

}  // namespace plotforge::programs
