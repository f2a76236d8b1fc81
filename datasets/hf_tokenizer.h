// Hugging Face tokenizer files for a SentencePiece model, so that
// transformers.AutoTokenizer.from_pretrained(bundle) and llama.cpp's
// convert_hf_to_gguf.py build a tokenizer that gives plotforge's ids.
//
// tokenizer.json (the `tokenizers` library's format) holds the model as
// SentencePiece runs it: a Unigram model with the pieces' scores (char models
// too: their pieces are single characters, so the segmentation is forced) or
// a BPE model with merges ranked by the merged piece's score (as
// transformers' own SentencePiece converter ranks them); byte fallback; the
// normalizer that escapes spaces as U+2581 and nothing else (plotforge trains
// with the identity normalization and no dummy prefix); no pre-tokenizer and
// no BOS. A newline is the byte piece <0x0A> (datasets/tokenizer.h).
//
// Special tokens: <unk>, <s>, </s> and plotforge's control tokens
// (<genre=...>, <scene>, <beat=...>, ...; SentencePiece user-defined symbols)
// are added tokens marked special. Hugging Face matches them anywhere in the
// text, as plotforge does, and llama.cpp's converter makes them CONTROL
// tokens, as plotforge's own GGUF export does (training/gguf_export.h).
//
// tokenizer_config.json names PreTrainedTokenizerFast (which runs
// tokenizer.json as written) and sets add_bos_token, add_eos_token and
// add_prefix_space false: plotforge's prompts start without BOS or a dummy
// space, and llama.cpp's converter, which reads these, would otherwise make
// a GGUF whose tokenizer adds both.
//
// Known differences, shared with transformers' own Llama conversion: the
// literal texts "<unk>", "<s>", "</s>" and "<0xHH>" are one token in Hugging
// Face and characters in SentencePiece.
#pragma once

#include <string>

#include "datasets/sentencepiece_model.h"

namespace plotforge {

struct HfTokenizerFiles {
  std::string tokenizer_json;         // tokenizer.json
  std::string tokenizer_config_json;  // tokenizer_config.json
};

// `context` becomes model_max_length.
HfTokenizerFiles hf_tokenizer_files(const SentencePieceModel& sp, int context);

// Whether a piece of this type is a special token of tokenizer.json (and so
// a CONTROL token of a GGUF): <unk>, control pieces (<s>, </s>, a legacy
// <nl>) and user-defined ones (plotforge's control tokens).
inline bool hf_special(SentencePieceModel::Type t) {
  using Type = SentencePieceModel::Type;
  return t == Type::kUnknown || t == Type::kControl || t == Type::kUserDefined;
}

}  // namespace plotforge
