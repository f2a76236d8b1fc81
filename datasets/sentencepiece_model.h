// A reader and encoder for SentencePiece model files, without libsentencepiece.
//
// Why our own: Debian's libsentencepiece carries a private copy of protobuf
// 3.14 whose exported symbols collide with libtorch's protobuf 3.21, so the
// two cannot share a process (the loader crashes before main). Everything
// that runs next to libtorch (training, generation, export) and the
// torch-free runtime use this class; only `plotforge tokenizer train` uses
// SentencePiece itself, through Debian's spm_train program.
//
// Scope: the models `plotforge tokenizer train` writes — unigram, bpe or
// char; identity normalization; no dummy prefix; no whitespace folding;
// and Llama's (identity normalization with a dummy prefix: each non-empty
// line gains a leading U+2581 when encoded, which decoding drops again);
// spaces escaped as U+2581; user-defined symbols; byte fallback. Encoding
// follows SentencePiece's algorithms (unigram Viterbi with its unknown
// penalty and user-symbol bonus; BPE merges by score, leftmost first), and
// tests/tokenizer_equivalence_test.cc checks the ids equal libsentencepiece's
// on the whole sample corpus for all three model types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace plotforge {

class SentencePieceModel {
 public:
  enum class Type : std::uint8_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
  enum class Algorithm { kUnigram, kBpe, kChar };

  // Parses the serialized ModelProto. Throws InputError naming `source`.
  static SentencePieceModel parse(std::string_view bytes, const std::string& source);

  // The same model with `pieces` (text and type, score 0) appended: the
  // serialized ModelProto with more `pieces` entries after the original
  // bytes (protobuf concatenates repeated fields), so everything else in the
  // file is kept. Throws InputError naming `source` if a piece is present.
  static std::string with_pieces(std::string_view bytes, const std::vector<std::pair<std::string, Type>>& pieces,
                                 const std::string& source);

  // Encodes one line (no '\n'); appends ids.
  void encode(std::string_view text, std::vector<int>* ids) const;
  // Decodes ids (no line separators) to text.
  std::string decode(const int* ids, std::size_t n) const;

  int size() const { return static_cast<int>(pieces_.size()); }
  int piece_id(std::string_view piece) const;  // -1 when absent
  const std::string& piece(int id) const { return pieces_[id].text; }
  Type type(int id) const { return pieces_[id].type; }
  float score(int id) const { return pieces_[id].score; }
  bool add_dummy_prefix() const { return add_dummy_prefix_; }
  bool byte_fallback() const { return byte_fallback_; }
  int unk_id() const { return unk_id_; }
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  Algorithm algorithm() const { return algorithm_; }

 private:
  struct Piece {
    std::string text;
    float score = 0;
    Type type = Type::kNormal;
  };
  // A byte trie over the matchable pieces (normal, user-defined, unused).
  struct Node {
    std::uint32_t first_child = 0;
    std::uint16_t child_count = 0;
    std::int32_t id = -1;
  };

  void build(const std::string& source);  // throws InputError naming source
  // Longest user-defined symbol at the start of s (0 if none).
  std::size_t user_symbol_at(std::string_view s) const;
  void encode_unigram(std::string_view s, std::vector<int>* out) const;
  void encode_bpe(std::string_view s, std::vector<int>* out) const;
  void encode_char(std::string_view s, std::vector<int>* out) const;
  // Unknown pieces become bytes (byte fallback) or one merged <unk>.
  void emit(std::string_view surface, int id, std::vector<int>* out, bool* prev_unk) const;

  std::vector<Piece> pieces_;
  Algorithm algorithm_ = Algorithm::kUnigram;
  bool byte_fallback_ = false;
  bool add_dummy_prefix_ = false;
  int unk_id_ = 0, bos_id_ = 1, eos_id_ = 2;
  std::string unk_surface_ = " \xE2\x81\x87 ";
  float min_score_ = 0, max_score_ = 0;
  int byte_ids_[256];
  std::unordered_map<std::string_view, int> matchable_;  // piece -> id (views into pieces_)
  std::unordered_map<std::string_view, int> reserved_;   // control/unknown/byte pieces -> id
  std::vector<Node> nodes_;
  std::vector<std::uint8_t> edge_byte_;
  std::vector<std::uint32_t> edge_target_;
  std::uint32_t root_table_[256];
  std::vector<std::string_view> user_symbols_;  // longest first
};

}  // namespace plotforge
