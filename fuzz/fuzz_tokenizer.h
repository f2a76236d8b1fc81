// The tokenizer the server-side fuzz targets encode with: the plotforge
// tokenizer file named by PLOTFORGE_FUZZ_TOKENIZER (scripts/fuzz.sh sets
// it), trained on data/sample at the first run when the file is missing.
#pragma once

#include <cstdlib>
#include <filesystem>

#include "datasets/documents.h"
#include "datasets/tokenizer.h"

inline const plotforge::Tokenizer& fuzz_tokenizer() {
  static const plotforge::Tokenizer tok = [] {
    const char* path = std::getenv("PLOTFORGE_FUZZ_TOKENIZER");
    if (!path) std::abort();
    if (!std::filesystem::exists(path)) {
      plotforge::TokenizerTrainOptions o;
      o.out = path;
      o.vocab_size = 600;
      plotforge::Tokenizer::train(o, plotforge::read_documents("data/sample"));
    }
    return plotforge::Tokenizer::load(path);
  }();
  return tok;
}
