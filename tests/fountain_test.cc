// Fountain 1.1 syntax, one case per element, from the specification.
#include "datasets/fountain.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace plotforge {
namespace {

Script parse(const std::string& s) { return parse_fountain(s, "test.fountain"); }

std::vector<ElementType> types(const Script& s) {
  std::vector<ElementType> t;
  for (const auto& e : s.elements) t.push_back(e.type);
  return t;
}

using T = ElementType;

TEST(Fountain, SceneHeadingsByPrefix) {
  for (const char* h : {"INT. HOUSE - DAY", "EXT. PARK--NIGHT", "EST. CITY", "INT./EXT. CAR - DAY", "INT/EXT CAR",
                        "I/E. TRUCK", "int. kitchen - day"}) {
    const Script s = parse(std::string("\n") + h + "\n\nAction.\n");
    ASSERT_EQ(types(s), (std::vector<T>{T::kSceneHeading, T::kAction})) << h;
    EXPECT_EQ(s.elements[0].text, h);
    EXPECT_FALSE(s.elements[0].forced);
  }
  // Not a heading: no separator after the prefix, or no blank line after.
  EXPECT_EQ(parse("INTERIOR DECORATING\n\nx\n").elements[0].type, T::kAction);
  EXPECT_NE(parse("INT. HOUSE\nsomething\n").elements[0].type, T::kSceneHeading);
}

TEST(Fountain, ForcedSceneHeadingAndSceneNumber) {
  const Script s = parse(".SCENE I. ELSINORE #1.1#\n\nx\n");
  ASSERT_EQ(s.elements[0].type, T::kSceneHeading);
  EXPECT_TRUE(s.elements[0].forced);
  EXPECT_EQ(s.elements[0].text, "SCENE I. ELSINORE");
  EXPECT_EQ(s.elements[0].scene_number, "1.1");
  const Script n = parse("INT. HOUSE - DAY #1A#\n\nx\n");
  EXPECT_EQ(n.elements[0].scene_number, "1A");
  EXPECT_EQ(n.elements[0].text, "INT. HOUSE - DAY");
  // "..." is an ellipsis in action, not a forced heading.
  EXPECT_EQ(parse("...and then\n").elements[0].type, T::kAction);
}

TEST(Fountain, CharacterDialogueParenthetical) {
  const Script s = parse("\nSTEEL (V.O.) (CONT'D)\n(quietly)\nThe man's a myth!\nSecond line.\n\nAction.\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kCharacter, T::kParenthetical, T::kDialogue, T::kAction}));
  EXPECT_EQ(s.elements[0].text, "STEEL");
  EXPECT_EQ(s.elements[0].extension, "(V.O.) (CONT'D)");
  EXPECT_EQ(s.elements[1].text, "(quietly)");
  EXPECT_EQ(s.elements[2].text, "The man's a myth!\nSecond line.");
  EXPECT_EQ(s.elements[0].line, 2);
  EXPECT_EQ(s.elements[2].line, 4);
}

TEST(Fountain, ForcedCharacterKeepsCase) {
  const Script s = parse("\n@McCLANE\nYippee ki-yay.\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kCharacter, T::kDialogue}));
  EXPECT_EQ(s.elements[0].text, "McCLANE");
  EXPECT_TRUE(s.elements[0].forced);
}

TEST(Fountain, UppercaseLineWithoutDialogueIsAction) { EXPECT_EQ(types(parse("\nSTEEL\n\nx\n"))[0], T::kAction); }

TEST(Fountain, DualDialogue) {
  const Script s = parse("\nBRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kCharacter, T::kDialogue, T::kCharacter, T::kDialogue}));
  EXPECT_FALSE(s.elements[0].dual);
  EXPECT_TRUE(s.elements[2].dual);
  EXPECT_EQ(s.elements[2].text, "STEEL");
}

TEST(Fountain, TwoSpacesKeepDialogueGoing) {
  const Script s = parse("\nDEALER\nTen.\n  \nFour.\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kCharacter, T::kDialogue}));
  EXPECT_EQ(s.elements[1].text, "Ten.\n\nFour.");
}

TEST(Fountain, ForcedActionAndIndentation) {
  const Script s = parse("!SCANNING THE AISLES...\nstill going\n\n\tIndented action\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kAction, T::kAction}));
  EXPECT_TRUE(s.elements[0].forced);
  EXPECT_EQ(s.elements[0].text, "SCANNING THE AISLES...\nstill going");
  EXPECT_EQ(s.elements[1].text, "\tIndented action");
}

TEST(Fountain, Transitions) {
  Script s = parse("\nCUT TO:\n\nx\n");
  EXPECT_EQ(s.elements[0].type, T::kTransition);
  EXPECT_EQ(s.elements[0].text, "CUT TO:");
  s = parse("> FADE IN:\n");
  EXPECT_EQ(s.elements[0].type, T::kTransition);
  EXPECT_EQ(s.elements[0].text, "FADE IN:");
  EXPECT_TRUE(s.elements[0].forced);
}

TEST(Fountain, CenteredText) {
  const Script s = parse(">THE END<\n\n> BRICK & STEEL <\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kCentered, T::kCentered}));
  EXPECT_EQ(s.elements[0].text, "THE END");
  EXPECT_EQ(s.elements[1].text, "BRICK & STEEL");
}

TEST(Fountain, LyricsSectionsSynopsesPageBreaks) {
  const Script s = parse("~Willy Wonka!\n~The amazing chocolatier!\n\n# ACT I\n\n## Part\n\n= Setup.\n\n===\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kLyric, T::kSection, T::kSection, T::kSynopsis, T::kPageBreak}));
  EXPECT_EQ(s.elements[0].text, "Willy Wonka!\nThe amazing chocolatier!");
  EXPECT_EQ(s.elements[1].depth, 1);
  EXPECT_EQ(s.elements[1].text, "ACT I");
  EXPECT_EQ(s.elements[2].depth, 2);
  EXPECT_EQ(s.elements[3].text, "Setup.");
}

TEST(Fountain, EmphasisIsKeptAsText) {
  const Script s = parse("He *really* **means** it, _underlined_ and ***both***.\n");
  EXPECT_EQ(s.elements[0].text, "He *really* **means** it, _underlined_ and ***both***.");
}

TEST(Fountain, NotesStandaloneInlineAndMultiline) {
  const Script s = parse("[[beat: climax]]\n\nHe enters.[[inline note]] Then leaves.\n\n[[spanning\nlines]]\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kNote, T::kNote, T::kAction, T::kNote}));
  EXPECT_EQ(s.elements[0].text, "beat: climax");
  EXPECT_EQ(s.elements[1].text, "inline note");
  EXPECT_EQ(s.elements[2].text, "He enters. Then leaves.");
  EXPECT_EQ(s.elements[3].text, "spanning lines");
  EXPECT_EQ(s.elements[3].line, 5);
}

TEST(Fountain, BoneyardIsRemovedAcrossLines) {
  const Script s = parse("Before.\n\n/* cut\nthis\nscene */\nAfter /*inline*/ text.\n");
  ASSERT_EQ(types(s), (std::vector<T>{T::kAction, T::kAction}));
  EXPECT_EQ(s.elements[1].text, "After  text.");
  EXPECT_EQ(s.elements[1].line, 6);
}

TEST(Fountain, TitlePageWithIndentedValues) {
  const Script s = parse(
      "Title:\n\t\"YARGO & FALB\"\n    \"MAISWITH\"\nCredit: by\nAuthor: R. Hall\nGenre: comedy, romance\n\nEXT. "
      "YARD--DAY\n\nx\n");
  ASSERT_EQ(s.title_page.size(), 4u);
  EXPECT_EQ(s.title_field("title"), "\"YARGO & FALB\"\n\"MAISWITH\"");
  EXPECT_EQ(s.title_field("Author"), "R. Hall");
  EXPECT_EQ(s.elements[0].type, T::kSceneHeading);
}

TEST(Fountain, CrlfBomAndLoneCr) {
  const Script s = parse("\xEF\xBB\xBFTitle: X\r\n\r\nINT. A - DAY\r\n\r\nHAMLET\r\nWords.\r");
  EXPECT_EQ(s.title_field("Title"), "X");
  ASSERT_EQ(types(s), (std::vector<T>{T::kSceneHeading, T::kCharacter, T::kDialogue}));
  EXPECT_EQ(s.elements[2].text, "Words.");
}

TEST(Fountain, UnterminatedNoteAndBoneyardNameTheLine) {
  try {
    parse("ok\n\nsee [[this note\nnever ends\n");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test.fountain:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unterminated note"), std::string::npos);
  }
  try {
    parse("a\n/* open\n");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test.fountain:2: unterminated boneyard"), std::string::npos) << e.what();
  }
}

TEST(Fountain, RenderRoundTrip) {
  const std::string src =
      "Title: Round\nGenre: drama\n\n# ACT I\n\n= synopsis\n\n.OPENING #1#\n\nEXT. PARK - DAY\n\n"
      "!LOUD NOISES\nmore\n\nBOB (O.S.) ^\n(beat)\nHi.\n  \nThere.\n\n@McBob\nYo.\n\n~la la\n\n"
      "CUT TO:\n\n> FADE OUT.\n\n>END<\n\n===\n\n[[a note]]\n";
  const Script a = parse(src);
  const Script b = parse(render_fountain(a));
  ASSERT_EQ(a.elements.size(), b.elements.size()) << render_fountain(a);
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    EXPECT_EQ(a.elements[i].type, b.elements[i].type) << i;
    EXPECT_EQ(a.elements[i].text, b.elements[i].text) << i;
    EXPECT_EQ(a.elements[i].scene_number, b.elements[i].scene_number) << i;
    EXPECT_EQ(a.elements[i].extension, b.elements[i].extension) << i;
    EXPECT_EQ(a.elements[i].dual, b.elements[i].dual) << i;
  }
  EXPECT_EQ(a.title_page, b.title_page);
}

}  // namespace
}  // namespace plotforge
