// The Hugging Face tokenizer files plotforge writes (datasets/hf_tokenizer.h),
// loaded by transformers' AutoTokenizer: the same ids as plotforge's own
// tokenizer on the whole sample corpus, for unigram, bpe and char models.
// The exported bundle's copy is checked in export_test.cc.
#include "datasets/hf_tokenizer.h"

#include <gtest/gtest.h>

#include "base/files.h"
#include "datasets/documents.h"
#include "datasets/tokenizer.h"
#include "tests/hf_tokenizer_cases.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

TEST(HfTokenizer, TransformersGivesPlotforgesIdsOnTheSampleCorpus) {
  const std::string python = testing::python_with("transformers");
  if (python.empty()) GTEST_SKIP() << "no python3 here has transformers (scripts/setup.sh installs it)";
  const auto docs = read_documents(testing::sample_dir());
  std::vector<std::string> texts = {
      "\n\nleading newlines, a trailing one\n",
      "caf\xC3\xA9 \xE2\x9C\x93 unseen \xF0\x9F\x8E\xAD\nand \xE4\xB8\xAD\xE6\x96\x87 across a newline\n",
      "\ttab and   three spaces\r\nCRLF line\r\n",
      "<genre=comedy>\n<scene><beat=climax><emotion=fear>\nx<genre=comedy>y <scene",
      "1234567890 numbers 3.14\n\n\nALL CAPS LINE (V.O.) (CONT'D)"};
  for (const Document& d : docs) texts.push_back(d.text);
  for (const auto& [type, vocab] :
       std::vector<std::pair<std::string, int>>{{"unigram", 2000}, {"bpe", 1000}, {"char", 200}}) {
    const std::string dir = testing::temp_dir("hf-tok-" + type);
    TokenizerTrainOptions o;
    o.out = dir + "/tokenizer.model";
    o.model_type = type;
    o.vocab_size = vocab;
    Tokenizer::train(o, docs);
    const Tokenizer tok = Tokenizer::load(o.out);
    ASSERT_FALSE(tok.legacy_newline());
    ASSERT_EQ(tok.piece(tok.newline_id()), "<0x0A>");
    const HfTokenizerFiles files = hf_tokenizer_files(SentencePieceModel::parse(read_file(o.out), o.out), 256);
    testing::write_text(dir + "/tokenizer.json", files.tokenizer_json);
    testing::write_text(dir + "/tokenizer_config.json", files.tokenizer_config_json);
    testing::write_text(dir + "/cases.json", testing::hf_tokenizer_cases(tok, texts).dump());
    const auto r = testing::run(python + " " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/hf_tokenizer_check.py " +
                                dir + " " + dir + "/cases.json");
    EXPECT_EQ(r.exit_code, 0) << type << ": " << r.output;
    std::cout << type << ": " << r.output;
  }
}

}  // namespace
}  // namespace plotforge
