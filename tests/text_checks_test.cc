// Bad input at the text level: each case gets an InputError naming the line.
#include "datasets/text_checks.h"

#include <random>

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"

namespace plotforge {
namespace {

std::string error_of(const std::string& text) {
  try {
    check_text(text, "f.txt");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(TextChecks, InvalidUtf8NamesLineAndByte) {
  EXPECT_EQ(error_of("ok\nbad \xC3\x28 here\n").substr(0, 33), "f.txt:2: invalid UTF-8 at byte 5 ");
  EXPECT_NE(error_of("\xED\xA0\x80"), "");      // surrogate
  EXPECT_NE(error_of("\xC0\xAF"), "");          // overlong
  EXPECT_NE(error_of("\xF4\x90\x80\x80"), "");  // above U+10FFFF
  EXPECT_NE(error_of("cut \xE2\x82"), "");      // truncated sequence
  EXPECT_EQ(error_of("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAD\n"), "");
}

TEST(TextChecks, BinaryFile) {
  EXPECT_NE(error_of(std::string("PK\x03\x04\0\0", 6)).find("binary file"), std::string::npos);
}

TEST(TextChecks, HugeSingleLine) {
  const std::string line(10 << 20, 'a');
  const std::string err = error_of("first\n" + line);
  EXPECT_NE(err.find("f.txt:2: line is longer than"), std::string::npos) << err.substr(0, 80);
}

// A cheap, always-on cousin of the libFuzzer target: mutated scripts either
// parse or raise InputError; nothing else may escape, crash or hang.
TEST(TextChecks, MutatedScriptsParseOrFailCleanly) {
  const std::string base =
      "Title: X\n\tmore\n\n# ACT I\n\n[[beat: climax]]\n\n.SCENE #1#\n\nBOB ^\n(aside)\nHi.\n  \n/* b */\n"
      "> FADE <\n~la\n===\n= syn\n";
  std::mt19937 rng(7);
  const std::string alphabet = "\n\t #.!@>~^=[]/*()<:ABab\xC3\xA9\xFF";
  for (int round = 0; round < 3000; ++round) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      const std::size_t pos = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0:
          s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          if (pos < s.size()) s.erase(pos, 1);
          break;
        default:
          if (pos < s.size()) s[pos] = alphabet[rng() % alphabet.size()];
      }
    }
    try {
      const Script sc = parse_fountain(s, "m.fountain");
      (void)render_fountain(sc);
    } catch (const InputError&) {
    }
  }
}

}  // namespace
}  // namespace plotforge

namespace plotforge {
namespace {

// Found by fuzz/jsonl_fuzz: a number too large for a double made
// nlohmann::json throw out_of_range, which escaped as a crash.
TEST(Jsonl, HugeNumberIsAnInputError) {
  EXPECT_THROW(parse_jsonl("999999e9999-999999999999990000000407329843\"\"{", "f.jsonl"), InputError);
  EXPECT_THROW(parse_jsonl("{\"title\": 1e999999}", "f.jsonl"), InputError);
}

TEST(Jsonl, FieldErrorsNameLineAndField) {
  try {
    parse_jsonl("{\"title\": \"a\", \"text\": \"x\"}\n{\"title\": \"b\", \"beats\": [{\"beat\": 3}]}\n", "s.jsonl");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("s.jsonl:2: field 'beats'"), std::string::npos) << e.what();
  }
  const auto docs = parse_jsonl(
      "{\"title\": \"A\", \"genre\": [\"Noir\", \"drama,comedy\"], \"text\": \"Intro.\", "
      "\"beats\": [{\"beat\": \"climax\", \"text\": \"Boom.\"}]}\n",
      "s.jsonl");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].genres, (std::vector<std::string>{"noir", "drama", "comedy"}));
  ASSERT_EQ(docs[0].scenes.size(), 1u);
  EXPECT_EQ(docs[0].scenes[0].beat, "climax");
  EXPECT_EQ(docs[0].text.substr(docs[0].scenes[0].begin), "<scene><beat=climax>\nBoom.\n");
}

TEST(ParseFloatList, NumbersOrANamedError) {
  EXPECT_EQ(parse_float_list("0.5,1,-2e-1", "--x"), (std::vector<float>{0.5f, 1.f, -0.2f}));
  try {
    parse_float_list("0.7,1.0abc", "--temperatures");
    FAIL() << "accepted a trailing garbage number";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--temperatures: '1.0abc' is not a number"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_float_list("1,,2", "--x"), InputError);
}

}  // namespace
}  // namespace plotforge
