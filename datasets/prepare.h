// prepare: scripts -> tokenized, labelled, split corpus (corpus.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/settings.h"
#include "datasets/corpus.h"
#include "datasets/derived_labels.h"
#include "datasets/documents.h"
#include "datasets/tokenizer.h"

namespace plotforge {

struct PrepareOptions {
  double val_fraction = 0.1;
  int threads = 2;
  bool quiet = false;  // no progress line on stderr

  template <class V>
  void fields(V&& v) {
    v("val-fraction", val_fraction, "share of documents (or of a single text's tail) held out");
    v("threads", threads, "tokenizer threads");
    v("quiet", quiet, "no progress line", flag());
  }
};

// Assigns documents to splits. With one document, its tail (val_fraction of
// its text, cut at a scene start or else a line start) becomes a separate
// validation document, as nanoGPT splits a single text file. With several,
// whole documents go to validation, chosen by a hash of their source name so
// the choice is stable as the corpus grows.
std::vector<std::pair<Document, Split>> assign_splits(std::vector<Document> docs, double val_fraction);

// Tokenizes on options.threads threads. Throws InputError if a document's
// genre, or a derived label, has no control token in the tokenizer.
CorpusData tokenize_corpus(const std::vector<std::pair<Document, Split>>& docs, const Tokenizer& tok,
                           const PrepareOptions& options);

// The whole command: read, derive labels (when `labeler` is given), split,
// tokenize, write atomically.
void prepare_corpus(const std::vector<std::string>& inputs, const std::string& tokenizer_path, const std::string& out,
                    const PrepareOptions& options, const SceneLabeler& labeler = nullptr);

}  // namespace plotforge
