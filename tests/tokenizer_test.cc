#include "datasets/tokenizer.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/documents.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

using testing::sample_dir;

TEST(Tokenizer, RoundTripIsExactOnTheWholeSampleCorpus) {
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  std::size_t bytes = 0;
  for (const Document& d : read_documents(sample_dir())) {
    ASSERT_EQ(tok.decode(tok.encode(d.text)), d.text) << d.source;
    bytes += d.text.size();
  }
  EXPECT_GT(bytes, 500000u);
}

TEST(Tokenizer, LayoutSurvives) {
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  for (const std::string s : {"  two leading\n\n\nthree newlines\n", "\ttab\t inside  double  spaces ",
                              "trailing spaces   \n", "\n", "", "caf\xC3\xA9 \xE2\x9C\x93 unseen \xF0\x9F\x8E\xAD"}) {
    EXPECT_EQ(tok.decode(tok.encode(s)), s);
  }
}

TEST(Tokenizer, ControlTokensAreSingleTokens) {
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  for (const std::string t : {"<scene>", "<beat=climax>", "<emotion=fear>", "<genre=tragedy>", "<genre=comedy>"}) {
    const auto ids = tok.encode(t);
    ASSERT_EQ(ids.size(), 1u) << t;
    EXPECT_EQ(ids[0], tok.piece_id(t));
  }
  const auto ids = tok.encode("<scene><beat=climax>\n.SCENE I");
  EXPECT_EQ(ids[0], tok.piece_id("<scene>"));
  EXPECT_EQ(ids[1], tok.piece_id("<beat=climax>"));
  EXPECT_EQ(ids[2], tok.newline_id());
}

TEST(Tokenizer, BpeAndCharModelsRoundTripToo) {
  const auto docs = read_documents(sample_dir());
  for (const std::string type : {"bpe", "char"}) {
    TokenizerTrainOptions o;
    o.out = testing::temp_dir("tok-" + type) + "/tok.model";
    o.model_type = type;
    o.vocab_size = type == "char" ? 200 : 1000;
    Tokenizer::train(o, docs);
    const Tokenizer tok = Tokenizer::load(o.out);
    for (const Document& d : docs) ASSERT_EQ(tok.decode(tok.encode(d.text)), d.text) << type << " " << d.source;
    if (type == "char") {
      EXPECT_EQ(tok.encode("abc").size(), 3u);
    }
  }
}

// A newline is byte fallback's <0x0A>, as in Llama's tokenizers; tokenizers
// trained before that change (the checked-in format-1 runs') keep their own
// <nl>, so their corpora and checkpoints keep their ids.
TEST(Tokenizer, NewlineIsTheBytePieceAndOlderTokenizersKeepTheirs) {
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  EXPECT_FALSE(tok.legacy_newline());
  EXPECT_EQ(tok.piece(tok.newline_id()), "<0x0A>");
  EXPECT_EQ(tok.encode("\n"), std::vector<int>{tok.newline_id()});
  EXPECT_EQ(tok.piece_id("<nl>"), -1);
  const Tokenizer old = Tokenizer::load(std::string(PLOTFORGE_SOURCE_DIR) +
                                        "/tests/data/checkpoint-format-1/transformer/tokenizer.model");
  EXPECT_TRUE(old.legacy_newline());
  EXPECT_EQ(old.piece(old.newline_id()), "<nl>");
  const auto ids = old.encode("ROMEO.\nBut soft");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), old.newline_id()), 1);
  EXPECT_EQ(old.decode(ids), "ROMEO.\nBut soft");
}

TEST(Tokenizer, MissingOrForeignModelsAreClearErrors) {
  EXPECT_THROW(Tokenizer::load("/nonexistent/tok.model"), InputError);
  const std::string dir = testing::temp_dir("foreign-tok");
  testing::write_text(dir + "/junk.model", "this is not a protobuf");
  EXPECT_THROW(Tokenizer::load(dir + "/junk.model"), InputError);
  // A genuine SentencePiece model without our control tokens, by spm_train.
  const auto r = testing::run("spm_train --input=" + testing::sample_dir() + "/hamlet.fountain --model_prefix=" + dir +
                              "/plain --vocab_size=500 --minloglevel=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  try {
    Tokenizer::load(dir + "/plain.model");
    FAIL() << "loaded a model without control tokens";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("retrain"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, EmptyCorpusAndBadOptions) {
  TokenizerTrainOptions o;
  o.out = testing::temp_dir("tok-bad") + "/t.model";
  EXPECT_THROW(Tokenizer::train(o, {}), InputError);
  o.model_type = "wordpiece";
  EXPECT_THROW(Tokenizer::train(o, read_documents(sample_dir())), InputError);
}

}  // namespace
}  // namespace plotforge
