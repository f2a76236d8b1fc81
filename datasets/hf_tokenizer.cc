#include "datasets/hf_tokenizer.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace plotforge {

namespace {

using json = nlohmann::ordered_json;

const char* const kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's escaped space

// Byte offsets where UTF-8 characters start in s, with s.size() last.
std::vector<std::size_t> char_starts(const std::string& s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}

// Every split of a piece into two pieces of the vocabulary, ranked by the
// whole piece's score (highest first; ties keep vocabulary order), as
// transformers' SentencePieceExtractor ranks them: Hugging Face's BPE then
// merges in SentencePiece's order.
json bpe_merges(const SentencePieceModel& sp) {
  struct Merge {
    int left, right;
    float score;
  };
  std::vector<Merge> merges;
  for (int id = 0; id < sp.size(); ++id) {
    const std::string& p = sp.piece(id);
    const std::vector<std::size_t> starts = char_starts(p);
    std::vector<Merge> local;
    for (std::size_t k = 1; k + 1 < starts.size(); ++k) {
      const int l = sp.piece_id(std::string_view(p).substr(0, starts[k]));
      const int r = sp.piece_id(std::string_view(p).substr(starts[k]));
      if (l >= 0 && r >= 0) local.push_back({l, r, sp.score(id)});
    }
    std::sort(local.begin(), local.end(),
              [](const Merge& a, const Merge& b) { return std::tie(a.left, a.right) < std::tie(b.left, b.right); });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json out = json::array();
  for (const Merge& m : merges) out.push_back(sp.piece(m.left) + " " + sp.piece(m.right));
  return out;
}

}  // namespace

HfTokenizerFiles hf_tokenizer_files(const SentencePieceModel& sp, int context) {
  json added = json::array();
  json decoder_map = json::object();
  for (int id = 0; id < sp.size(); ++id) {
    if (!hf_special(sp.type(id))) continue;
    json t = {{"id", id},        {"content", sp.piece(id)}, {"single_word", false}, {"lstrip", false},
              {"rstrip", false}, {"normalized", false},     {"special", true}};
    added.push_back(t);
    t.erase("id");
    decoder_map[std::to_string(id)] = t;
  }

  json model;
  if (sp.algorithm() == SentencePieceModel::Algorithm::kBpe) {
    json vocab = json::object();
    for (int id = 0; id < sp.size(); ++id) vocab[sp.piece(id)] = id;
    model = {{"type", "BPE"},
             {"dropout", nullptr},
             {"unk_token", sp.piece(sp.unk_id())},
             {"continuing_subword_prefix", nullptr},
             {"end_of_word_suffix", nullptr},
             {"fuse_unk", true},
             {"byte_fallback", sp.byte_fallback()},
             {"ignore_merges", false},
             {"vocab", vocab},
             {"merges", bpe_merges(sp)}};
  } else {
    json vocab = json::array();
    for (int id = 0; id < sp.size(); ++id) vocab.push_back(json::array({sp.piece(id), sp.score(id)}));
    model = {{"type", "Unigram"}, {"unk_id", sp.unk_id()}, {"vocab", vocab}, {"byte_fallback", sp.byte_fallback()}};
  }

  json normalizers = json::array();
  if (sp.add_dummy_prefix()) normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpace}});
  normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpace}});
  json decoders = json::array({json{{"type", "Replace"}, {"pattern", {{"String", kSpace}}}, {"content", " "}},
                               json{{"type", "ByteFallback"}}, json{{"type", "Fuse"}}});
  if (sp.add_dummy_prefix()) {
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  }

  const json tokenizer = {{"version", "1.0"},
                          {"truncation", nullptr},
                          {"padding", nullptr},
                          {"added_tokens", added},
                          {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
                          {"pre_tokenizer", nullptr},
                          {"post_processor", nullptr},
                          {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
                          {"model", model}};
  // PreTrainedTokenizerFast runs tokenizer.json as it is (LlamaTokenizerFast
  // rebuilds it from tokenizer.model when add_prefix_space is set).
  // add_prefix_space and add_bos_token are for llama.cpp's converter, whose
  // SentencePiece tokenizer otherwise prepends a space and a BOS.
  const json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                       {"add_bos_token", false},
                       {"add_eos_token", false},
                       {"add_prefix_space", sp.add_dummy_prefix()},
                       {"bos_token", sp.piece(sp.bos_id())},
                       {"eos_token", sp.piece(sp.eos_id())},
                       {"unk_token", sp.piece(sp.unk_id())},
                       {"pad_token", nullptr},
                       {"clean_up_tokenization_spaces", false},
                       {"model_max_length", context},
                       {"added_tokens_decoder", decoder_map}};
  try {
    return {tokenizer.dump(2) + "\n", config.dump(2) + "\n"};
  } catch (const json::type_error& e) {  // JSON holds UTF-8 only
    throw InputError(std::string("tokenizer: a piece is not valid UTF-8, so it has no tokenizer.json (") + e.what() +
                     ")");
  }
}

}  // namespace plotforge
