// SentencePiece tokenizer with an exact round trip for line-structured text.
//
// SentencePiece treats input as single lines and normalizes whitespace, which
// would lose a script's layout. So: the trainer runs with the identity
// normalization, no dummy prefix and no whitespace folding, and with byte
// fallback; no piece holds a newline, so a newline is the byte piece
// "<0x0A>", as in Llama's tokenizers. Text is encoded a line at a time with
// that piece between lines, which is exactly what SentencePiece, Hugging
// Face's tokenizer and llama.cpp give for the whole text (the bundle's
// tokenizer.json, datasets/hf_tokenizer.h). decode(encode(t)) == t for any
// text; characters the model has not seen become byte pieces.
//
// Newline formats. Tokenizers trained before 2026-12-02 hold the control
// symbol "<nl>" and no byte pieces in char models: they still load, and
// encode a newline as "<nl>" as before, so their corpora and checkpoints keep
// their ids and resume exactly. newline_id() is whichever piece the model
// has; legacy_newline() says which. Their bundles' ids differ from what
// transformers and llama.cpp give for text with newlines (export warns).
//
// Control tokens (documents.h) are user-defined symbols: each is one token
// wherever it appears in the text.
//
// Training runs Debian's spm_train program; encoding and decoding use our
// own reader of the model file (sentencepiece_model.h explains why).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/settings.h"
#include "datasets/documents.h"

namespace plotforge {
class SentencePieceModel;
}

namespace plotforge {

struct TokenizerTrainOptions {
  std::string out;  // tok.model (an operand of the command)
  int vocab_size = 8000;
  // bpe (the default) and char give the same ids in plotforge, transformers
  // and llama.cpp, whose SentencePiece tokenizer merges pairs by score, as
  // BPE does. A unigram model's best segmentation (Viterbi) is what
  // transformers gives too, but not llama.cpp (docs/tokenizer.md).
  std::string model_type = "bpe";  // unigram | bpe | char
  int threads = 2;
  bool quiet = true;  // spm_train's own log (not an option)

  template <class V>
  void fields(V&& v) {
    v("vocab-size", vocab_size, "vocabulary size");
    v("model-type", model_type, "unigram | bpe | char");
    v("threads", threads, "trainer threads");
  }
};

class Tokenizer {
 public:
  // Trains on the documents' canonical text with spm_train; writes
  // options.out atomically.
  static void train(const TokenizerTrainOptions& options, const std::vector<Document>& docs);

  // Throws InputError if the file is missing, not a SentencePiece model, or
  // lacks a newline piece ("<0x0A>" or the legacy "<nl>") or a fixed control
  // token.
  static Tokenizer load(const std::string& path);

  std::vector<int> encode(std::string_view text) const;
  void encode_append(std::string_view text, std::vector<int>* ids) const;
  std::string decode(const std::vector<int>& ids) const;

  int vocab_size() const;
  int eos_id() const;
  int newline_id() const { return newline_id_; }
  // True for a tokenizer whose newline is the control symbol "<nl>" (before
  // 2026-12-02), false for the byte piece "<0x0A>".
  bool legacy_newline() const { return legacy_newline_; }
  int piece_id(const std::string& piece) const;  // -1 when not in the vocabulary
  std::string piece(int id) const;
  // Every user-defined symbol (the control tokens) with its id.
  const std::vector<std::pair<std::string, int>>& control_tokens() const { return control_tokens_; }
  const std::string& path() const { return path_; }

 private:
  std::shared_ptr<const SentencePieceModel> sp_;
  int newline_id_ = -1;
  bool legacy_newline_ = false;
  std::vector<std::pair<std::string, int>> control_tokens_;
  std::string path_;
};

// The labels a generator is conditioned on; empty ones are left out.
struct ControlLabels {
  std::string genre, beat, emotion, valence;
};

// The text a generator continues:
// "<genre=G>\n<scene><beat=B><emotion=E><valence=V>\n" then `text`.
// Throws InputError listing the known values when a label has no control
// token in `tok`.
std::string conditioning_prompt(const Tokenizer& tok, const ControlLabels& labels, const std::string& text);

}  // namespace plotforge
