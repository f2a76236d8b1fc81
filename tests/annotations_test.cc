#include "datasets/annotations.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"

namespace plotforge {
namespace {

constexpr const char* kPlay =
    "Title: T\nGenre: Tragedy, Romance\n\n# ACT I\n\n[[beat: exposition]]\n[[emotion: fear]]\n\n"
    ".SCENE ONE #1.1#\n\nA\n\n.SCENE TWO #1.2#\n\nB\n\n# ACT II\n\n[[beat: Rising Action]]\n\n"
    ".SCENE THREE #2.1#\n\nHAMLET\nWords.\n";

TEST(Annotations, GenresBeatsEmotionsActs) {
  const Script s = parse_fountain(kPlay, "p.fountain");
  const Annotations a = annotate(s);
  EXPECT_EQ(a.genres, (std::vector<std::string>{"tragedy", "romance"}));
  EXPECT_EQ(a.acts, 2);
  ASSERT_EQ(a.scenes.size(), 3u);
  EXPECT_EQ(a.scenes[0].beat, "exposition");
  EXPECT_EQ(a.scenes[1].beat, "exposition");
  EXPECT_EQ(a.scenes[2].beat, "rising_action");
  EXPECT_EQ(a.scenes[2].emotion, "fear");  // carried until the next emotion note
  EXPECT_EQ(a.scenes[0].act, 1);
  EXPECT_EQ(a.scenes[2].act, 2);
}

TEST(Annotations, UnknownBeatNamesFileAndLine) {
  const Script s = parse_fountain("\n[[beat: explosion]]\n", "x.fountain");
  try {
    annotate(s);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x.fountain:2: unknown beat 'explosion'"), std::string::npos) << e.what();
  }
}

TEST(Annotations, VocabulariesHoldFreytagAndPlutchik) {
  for (const char* b : {"exposition", "rising_action", "climax", "falling_action", "resolution"}) {
    EXPECT_NE(std::find(beat_vocabulary().begin(), beat_vocabulary().end(), b), beat_vocabulary().end()) << b;
  }
  for (const char* e : {"joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation", "neutral"}) {
    EXPECT_NE(std::find(emotion_vocabulary().begin(), emotion_vocabulary().end(), e), emotion_vocabulary().end()) << e;
  }
}

TEST(Documents, CanonicalTextCarriesControlTokensAndScenes) {
  const Document d = document_from_script(parse_fountain(kPlay, "p.fountain"));
  EXPECT_EQ(d.text.rfind("<genre=tragedy><genre=romance>\n", 0), 0u) << d.text;
  ASSERT_EQ(d.scenes.size(), 3u);
  const std::string first = d.text.substr(d.scenes[0].begin, d.scenes[0].end - d.scenes[0].begin);
  EXPECT_EQ(first.rfind("<scene><beat=exposition><emotion=fear>\n.SCENE ONE #1.1#\n", 0), 0u) << first;
  EXPECT_EQ(d.text.find("[["), std::string::npos);  // notes become tokens
  // Stripping the tokens gives Fountain whose scenes match the original.
  const Script again = parse_fountain(strip_control_tokens(d.text), "again");
  int headings = 0;
  for (const auto& e : again.elements) headings += e.type == ElementType::kSceneHeading;
  EXPECT_EQ(headings, 3);
}

TEST(Documents, StripControlTokens) {
  EXPECT_EQ(strip_control_tokens("<genre=x>\nA <scene>b\n<scene><beat=climax>\nC\n"), "A b\nC\n");
  EXPECT_EQ(strip_control_tokens("a < b > c\n"), "a < b > c\n");
}

}  // namespace
}  // namespace plotforge
