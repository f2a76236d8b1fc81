// Our SentencePiece encoder/decoder against libsentencepiece itself, on every
// line of the sample corpus, for unigram, bpe and char models trained by
// 'plotforge tokenizer train'. (This test binary links libsentencepiece and
// not libtorch; the two cannot share a process.)
#include <gtest/gtest.h>

#include <sentencepiece_processor.h>

#include "datasets/documents.h"
#include "datasets/error.h"
#include "datasets/sentencepiece_model.h"
#include "datasets/text_checks.h"
#include "datasets/tokenizer.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

std::vector<std::string> corpus_lines() {
  std::vector<std::string> lines = {
      "caf\xC3\xA9 \xE2\x9C\x93 unseen \xF0\x9F\x8E\xAD and \xE4\xB8\xAD\xE6\x96\x87",  // unseen characters
      "\ttab and   three spaces", "   ", "<scene><beat=climax><emotion=fear>", "x<genre=comedy>y", "<scene",
      "1234567890 numbers 3.14", "ALL CAPS LINE (V.O.) (CONT'D)",
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
}

TEST(TokenizerEquivalence, Unigram) { check_model("unigram", 2000); }
TEST(TokenizerEquivalence, Bpe) { check_model("bpe", 1000); }
TEST(TokenizerEquivalence, Char) { check_model("char", 200); }

TEST(TokenizerEquivalence, RejectsForeignAndTruncatedModels) {
  EXPECT_THROW(SentencePieceModel::parse("\x0a\xff\xff\xff", "bad.model"), InputError);
  EXPECT_THROW(SentencePieceModel::parse("", "empty.model"), InputError);
}

}  // namespace
}  // namespace plotforge
