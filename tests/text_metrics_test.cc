// Text metrics: hand-checked values, and BLEU/Self-BLEU against NLTK (the
// implementation Texygen and most papers report through).
#include "eval/text_metrics.h"

#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace plotforge {
namespace {

TEST(TextMetrics, WordsLowercaseAndSplitPunctuation) {
  EXPECT_EQ(
      words("HAMLET: To be, or not to be!\n  Ay, there's the rub."),
      (Words{"hamlet", ":", "to", "be", ",", "or", "not", "to", "be", "!", "ay", ",", "there's", "the", "rub", "."}));
  EXPECT_TRUE(words(" \n\t").empty());
}

TEST(TextMetrics, DistinctN) {
  const std::vector<Words> s = {{"a", "b", "a", "b"}, {"a", "c"}};
  EXPECT_DOUBLE_EQ(distinct_n(s, 1), 3.0 / 6);    // a, b, c of 6 words
  EXPECT_DOUBLE_EQ(distinct_n(s, 2), 3.0 / 4);    // ab, ba, ab | ac
  EXPECT_DOUBLE_EQ(distinct_n({{"x"}}, 2), 0.0);  // no bigram at all
}

TEST(TextMetrics, RepetitionRate) {
  // 4-grams: abcd bcda cdab dabc abcd: 5, of which 4 unique.
  EXPECT_DOUBLE_EQ(repetition_rate({{"a", "b", "c", "d", "a", "b", "c", "d"}}, 4), 0.2);
  EXPECT_DOUBLE_EQ(repetition_rate({{"a", "b", "c", "d", "e"}}, 4), 0.0);
}

TEST(TextMetrics, BleuBounds) {
  const Words s = words("the king is dead long live the king");
  EXPECT_NEAR(bleu({s}, {s}), 1.0, 1e-12);
  EXPECT_EQ(bleu({words("xx yy zz ww")}, {s}), 0.0);  // no unigram in common
  // Self-BLEU of copies is 1; of disjoint samples 0.
  EXPECT_NEAR(self_bleu({s, s, s}), 1.0, 1e-12);
  EXPECT_EQ(self_bleu({words("a b c d e"), words("f g h i j")}), 0.0);
}

// Random word soups with overlap, scored here and by NLTK's sentence_bleu
// (method-1 smoothing), must agree to rounding.
TEST(TextMetrics, BleuAndSelfBleuMatchNltk) {
  std::mt19937 rng(7);
  const std::vector<std::string> vocab = {"the", "king", "queen", "ghost", "sword", "night", "is", "of", "and", "a"};
  auto soup = [&](int min_len, int max_len) {
    Words w(std::uniform_int_distribution<int>(min_len, max_len)(rng));
    for (auto& x : w) x = vocab[std::uniform_int_distribution<int>(0, static_cast<int>(vocab.size()) - 1)(rng)];
    return w;
  };
  std::vector<Words> samples, refs;
  for (int i = 0; i < 12; ++i) samples.push_back(soup(2, 25));
  for (int i = 0; i < 9; ++i) refs.push_back(soup(5, 30));
  const std::string dir = testing::temp_dir("bleu-nltk");
  {
    std::ofstream f(dir + "/sets.json");
    f << nlohmann::json{{"samples", samples}, {"references", refs}}.dump();
  }
  const auto r = testing::run_stdout("python3 " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/bleu_reference.py " +
                                     dir + "/sets.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_NEAR(bleu(samples, refs), j["bleu"].get<double>(), 1e-9);
  EXPECT_NEAR(self_bleu(samples), j["self_bleu"].get<double>(), 1e-9);
}

}  // namespace
}  // namespace plotforge
