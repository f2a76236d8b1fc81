// Our SentencePiece encoder/decoder against libsentencepiece itself, on every
// line of the sample corpus, for unigram, bpe and char models trained by
// 'plotforge tokenizer train'. (This test binary links libsentencepiece and
// not libtorch; the two cannot share a process.)
#include <sentencepiece_processor.h>

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/sentencepiece_model.h"
#include "datasets/text_checks.h"
#include "datasets/tokenizer.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

std::vector<std::string> corpus_lines() {
  std::vector<std::string> lines = {
      "caf\xC3\xA9 \xE2\x9C\x93 unseen \xF0\x9F\x8E\xAD and \xE4\xB8\xAD\xE6\x96\x87",  // unseen characters
      "\ttab and   three spaces",
      "   ",
      "<scene><beat=climax><emotion=fear>",
      "x<genre=comedy>y",
      "<scene",
      "1234567890 numbers 3.14",
      "ALL CAPS LINE (V.O.) (CONT'D)",
  };
  for (const auto& d : read_documents(testing::sample_dir())) {
    std::size_t start = 0;
    while (start < d.text.size()) {
      std::size_t nl = d.text.find('\n', start);
      if (nl == std::string::npos) nl = d.text.size();
      lines.push_back(d.text.substr(start, nl - start));
      start = nl + 1;
    }
  }
  return lines;
}

void check_model(const std::string& type, int vocab) {
  TokenizerTrainOptions o;
  o.out = testing::temp_dir("equiv-" + type) + "/tok.model";
  o.model_type = type;
  o.vocab_size = vocab;
  Tokenizer::train(o, read_documents(testing::sample_dir()));
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load(o.out).ok());
  const std::string bytes = read_file(o.out);
  const SentencePieceModel ours = SentencePieceModel::parse(bytes, o.out);
  ASSERT_EQ(ours.size(), sp.GetPieceSize());
  int checked = 0;
  for (const std::string& line : corpus_lines()) {
    std::vector<int> expect;
    ASSERT_TRUE(sp.Encode(line, &expect).ok());
    std::vector<int> got;
    ours.encode(line, &got);
    ASSERT_EQ(got, expect) << type << " line: " << line;
    std::string expect_text;
    ASSERT_TRUE(sp.Decode(expect, &expect_text).ok());
    ASSERT_EQ(ours.decode(got.data(), got.size()), expect_text) << type << " line: " << line;
    ++checked;
  }
  EXPECT_GT(checked, 10000);
  // Text with newlines: plotforge encodes line by line with the newline piece
  // between lines; SentencePiece gets the text whole. Passages of 8 lines:
  // over a whole play SentencePiece's float32 Viterbi sums (about -4e5)
  // lose the precision that tells close unigram paths apart, and it picks
  // the lower-scoring one in a few words (transformers, in float64, agrees
  // with plotforge there: hf_tokenizer_test.cc).
  const Tokenizer tok = Tokenizer::load(o.out);
  int passages = 0;
  for (const auto& d : read_documents(testing::sample_dir())) {
    std::size_t start = 0;
    while (start < d.text.size()) {
      std::size_t end = start;
      for (int line = 0; line < 8 && end < d.text.size(); ++line) {
        const std::size_t nl = d.text.find('\n', end);
        end = nl == std::string::npos ? d.text.size() : nl + 1;
      }
      const std::string passage = d.text.substr(start, end - start);
      std::vector<int> expect;
      ASSERT_TRUE(sp.Encode(passage, &expect).ok());
      ASSERT_EQ(tok.encode(passage), expect) << type << " " << d.source << ": " << passage;
      start = end;
      ++passages;
    }
  }
  EXPECT_GT(passages, 1000);
}

TEST(TokenizerEquivalence, Unigram) { check_model("unigram", 2000); }
TEST(TokenizerEquivalence, Bpe) { check_model("bpe", 1000); }
TEST(TokenizerEquivalence, Char) { check_model("char", 200); }

TEST(TokenizerEquivalence, RejectsForeignAndTruncatedModels) {
  EXPECT_THROW(SentencePieceModel::parse("\x0a\xff\xff\xff", "bad.model"), InputError);
  EXPECT_THROW(SentencePieceModel::parse("", "empty.model"), InputError);
}

// A ModelProto written by hand: pieces (text, type), a unigram trainer spec
// and identity normalization.
std::string varint(std::uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7F) | 0x80));
  out.push_back(static_cast<char>(v));
  return out;
}
std::string message_field(int field, const std::string& payload) {
  return varint(static_cast<std::uint64_t>(field) << 3 | 2) + varint(payload.size()) + payload;
}
std::string varint_field(int field, std::uint64_t v) {
  return varint(static_cast<std::uint64_t>(field) << 3) + varint(v);
}
std::string model_bytes(const std::vector<std::pair<std::string, int>>& pieces) {
  std::string m;
  for (const auto& [text, type] : pieces) m += message_field(1, message_field(1, text) + varint_field(3, type));
  m += message_field(2, varint_field(3, 1));
  m += message_field(3, message_field(1, "identity") + varint_field(3, 0) + varint_field(4, 0));
  return m;
}

// Found by fuzz/sentencepiece_fuzz.cc: a byte piece that is not <0xHH>
// escaped as std::invalid_argument (a crash), and a repeated piece made the
// trie read past a piece's end. Both are now the model's error.
TEST(TokenizerEquivalence, RejectsCorruptPieces) {
  const SentencePieceModel ok =
      SentencePieceModel::parse(model_bytes({{"<unk>", 2}, {"a", 1}, {"b", 1}, {"<0x41>", 6}}), "ok.model");
  std::vector<int> ids;
  ok.encode("ab", &ids);
  EXPECT_EQ(ids, (std::vector<int>{1, 2}));
  EXPECT_THROW(SentencePieceModel::parse(model_bytes({{"<unk>", 2}, {"a", 1}, {"a", 1}}), "dup.model"), InputError);
  EXPECT_THROW(SentencePieceModel::parse(model_bytes({{"<unk>", 2}, {"<0xZZ>", 6}}), "byte.model"), InputError);
  EXPECT_THROW(SentencePieceModel::parse(model_bytes({{"<unk>", 2}, {"a", 9}}), "type.model"), InputError);
}

}  // namespace
}  // namespace plotforge
