// The prepared corpus: one HDF5 file (schema in docs/corpus-format.md).
//
// CorpusData is the whole content in memory; write_corpus() stores it
// atomically, read_corpus() loads and validates it. Any structural problem is
// an InputError naming the file and the HDF5 path at fault.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace plotforge {

// 2 added /scenes/valence and /scenes/emotion_derived; version 1 files
// still read, as scenes without derived labels.
constexpr int kCorpusSchemaVersion = 2;

enum class Split : std::uint8_t { kTrain = 0, kValidation = 1 };

struct CorpusDocument {
  std::uint64_t token_begin = 0, token_end = 0;
  Split split = Split::kTrain;
  std::string title, source;
  std::vector<std::string> genres;
};

struct CorpusScene {
  std::uint32_t document = 0;
  std::uint64_t token_begin = 0, token_end = 0;
  std::int32_t act = 0;
  std::string beat = "none", emotion = "none";
  std::string valence = "none";  // derived (docs/annotations.md)
  bool emotion_derived = false;  // the emotion came from a lexicon, not a note
};

struct CorpusData {
  std::vector<std::uint32_t> tokens;
  std::vector<CorpusDocument> documents;
  std::vector<CorpusScene> scenes;
  std::vector<std::pair<std::string, std::int32_t>> control_tokens;
  std::string tokenizer_sha256;
  std::string tokenizer_model;  // the tokenizer file's bytes: a corpus is self-contained
  std::int32_t vocab_size = 0, eos_id = -1, newline_id = -1;

  std::uint64_t split_tokens(Split s) const;
};

void write_corpus(const std::string& path, const CorpusData& data);
CorpusData read_corpus(const std::string& path);

}  // namespace plotforge
