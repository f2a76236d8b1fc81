#include "programs/plotforge/lexicons.h"

namespace plotforge::programs {

void add_lexicon_options(po::options_description& o) {
  o.add_options()("emotion-lexicon", po::value<std::string>()->default_value(""),
                  "your word-emotion lexicon in NRC EmoLex's format: adds emotions (docs/emotion.md)")(
      "lexicon", po::value<std::string>()->default_value(""),
      "a VADER-format lexicon instead of the shipped one (emotion/lexicons/vader/)");
}

Lexicons::Lexicons(const po::variables_map& vm) {
  const std::string vader = vm["lexicon"].as<std::string>();
  if (!vader.empty()) custom_.emplace(emotion::Vader::load(vader));
  const std::string emolex = vm["emotion-lexicon"].as<std::string>();
  if (!emolex.empty()) emolex_.emplace(emotion::EmotionLexicon::load(emolex));
}

}  // namespace plotforge::programs
