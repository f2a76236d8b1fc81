// The emotion room's readers and scorers without the corpus: a user's
// EmoLex-format lexicon (written here: NRC's own is not shipped), its
// rejections naming file and line, and VADER lexicon files gone wrong.
#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/derived_labels.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"
#include "emotion/arcs.h"
#include "emotion/emolex.h"
#include "emotion/scene_labels.h"
#include "emotion/vader.h"
#include "tests/test_util.h"

namespace plotforge::emotion {
namespace {

std::string lexicon_file(const std::string& name, const std::string& text) {
  const std::string path = testing::temp_dir("emotion-lexicons") + "/" + name;
  testing::write_text(path, text);
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(EmotionLexicon, CountsTheEmotionsOfAText) {
  const auto lex = EmotionLexicon::load(
      lexicon_file("small.txt",
                   "murder\tanger\t1\nmurder\tfear\t1\nmurder\tjoy\t0\nmurder\tnegative\t1\nghost\tfear\t1\n"
                   "love\tjoy\t1\nlove\tpositive\t1\nsweet\tjoy\t1\nsweet\tanticipation\t1\n"));
  EXPECT_EQ(lex.size(), 4u);
  EmotionCounts c = lex.count("Murder most foul! The GHOST walks.");
  EXPECT_EQ(c.plutchik[3], 2);  // fear: murder, ghost
  EXPECT_EQ(c.plutchik[0], 1);  // anger
  EXPECT_EQ(c.plutchik[4], 0);  // joy: murder's 0 does not count
  EXPECT_EQ(c.negative, 1);
  EXPECT_EQ(c.dominant(), "fear");
  EXPECT_EQ(lex.count("Sweet love, sweet.").dominant(), "joy");
  EXPECT_EQ(lex.count("Nothing here.").dominant(), "neutral");
  // A tie goes to the first in Plutchik's order: anticipation before joy.
  EXPECT_EQ(lex.count("sweet").dominant(), "anticipation");
}

TEST(EmotionLexicon, BadFilesAreRejectedWithFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"murder\tanger\n", ":1: expected three tab-separated fields"},
      {"murder\tanger\t1\tmore\n", ":1: expected three"},
      {"murder\tanger\t1\nghost\tdread\t1\n", ":2: unknown emotion 'dread'"},
      {"murder\tanger\tyes\n", ":1: the association 'yes'"},
      {"murder\tanger\t0.5\n", ":1: the association '0.5'"},
      {"murder\tanger\t1\nghost\tfear\t1\nmurder\tanger\t0\n", ":3: 'murder' and 'anger' are listed twice"},
      {"", "has no entries"},
      {"\n\n", "has no entries"},
      {"\tanger\t1\n", ":1: the word is empty"},
  };
  int k = 0;
  for (const auto& [text, expected] : cases) {
    const std::string path = lexicon_file("bad" + std::to_string(k++) + ".txt", text);
    const std::string e = error_of([&] { EmotionLexicon::load(path); });
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find(expected), std::string::npos) << e;
  }
  EXPECT_NE(error_of([] { EmotionLexicon::load("/nonexistent/lex.txt"); }).find("cannot read"), std::string::npos);
}

TEST(Vader, LexiconFilesGoneWrong) {
  EXPECT_NE(error_of([] { Vader::load(lexicon_file("v1.txt", "good\t1.9\t0.9\nbad\tworse\t1\n")); }).find(":2:"),
            std::string::npos);
  EXPECT_NE(error_of([] { Vader::load(lexicon_file("v2.txt", "good 1.9\n")); }).find(":1: expected"),
            std::string::npos);
  EXPECT_NE(error_of([] { Vader::load(lexicon_file("v3.txt", "")); }).find("empty"), std::string::npos);
  // A small lexicon of its own works: "good" is all it knows.
  const Vader v = Vader::load(lexicon_file("v4.txt", "good\t1.9\t0.9\t[2, 2]\n"));
  EXPECT_EQ(v.size(), 1u);
  EXPECT_GT(v.score("a good day").compound, 0);
  EXPECT_LT(v.score("not a good day").compound, 0);
  EXPECT_EQ(v.score("a day").compound, 0);
}

TEST(Vader, ArcShapedTextsScoreTheirWay) {
  const Vader& v = Vader::builtin();
  EXPECT_GT(v.size(), 7000u);
  EXPECT_GT(v.score("Joy, love and laughter fill the happy hall!").compound, 0.8);
  EXPECT_LT(v.score("Murder, grief and bitter death; the king is dead.").compound, -0.8);
  EXPECT_EQ(v.score("").compound, 0);
}

}  // namespace
}  // namespace plotforge::emotion

namespace plotforge::emotion {
namespace {

// A play whose speeches move along `valence(t)` for t in [0, 1]: each
// speech is a line of words VADER rates clearly one way or the other.
Script play_with(const std::function<double(double)>& valence, int speeches = 60) {
  std::string text = "Title: Shape\n\n";
  for (int i = 0; i < speeches; ++i) {
    if (i % 10 == 0) text += "INT. HALL " + std::to_string(i / 10 + 1) + " - DAY\n\n";
    const double v = valence((i + 0.5) / speeches);
    text += "HERO\n";
    text += v > 0.33    ? "Joy and love, a happy glorious day!\n\n"
            : v > -0.33 ? "We walk to the door and sit.\n\n"
                        : "Grief and murder, a terrible bitter death!\n\n";
  }
  return parse_fountain(text, "shape.fountain");
}

TEST(Arcs, SyntheticStoriesComeOutAsTheirShapes) {
  const Vader& v = Vader::builtin();
  EXPECT_EQ(script_arc(play_with([](double t) { return 2 * t - 1; }), v).shape.name, "rags_to_riches");
  EXPECT_EQ(script_arc(play_with([](double t) { return 1 - 2 * t; }), v).shape.name, "riches_to_rags");
  EXPECT_EQ(script_arc(play_with([](double t) { return std::cos(6.2831853 * t); }), v).shape.name, "man_in_a_hole");
  EXPECT_EQ(script_arc(play_with([](double t) { return -std::cos(6.2831853 * t); }), v).shape.name, "icarus");
  const ScriptArc up = script_arc(play_with([](double t) { return 2 * t - 1; }), v);
  EXPECT_LT(up.arc.front(), 0);  // the window arc starts low and ends high
  EXPECT_GT(up.arc.back(), 0);
  EXPECT_GT(up.shape.r, 0.9);
  EXPECT_EQ(up.scenes.size(), 6u);
  EXPECT_LT(up.scenes.front().valence, 0);
  EXPECT_GT(up.scenes.back().valence, 0);
  EXPECT_EQ(up.characters.at("HERO").second, 60);
}

TEST(Arcs, AScriptWithoutDialogueIsRefused) {
  EXPECT_THROW(script_arc(parse_fountain("INT. HALL - DAY\n\nNobody speaks.\n", "mute.fountain"), Vader::builtin()),
               InputError);
}

TEST(Arcs, ModesOfArcsThatShareOneShape) {
  std::vector<std::array<double, kArcPoints>> arcs;
  const auto& rise = reagan_shapes()[0].second;
  for (double scale : {0.5, 1.0, -2.0, 3.0}) {
    std::array<double, kArcPoints> a{};
    for (int i = 0; i < kArcPoints; ++i) a[i] = scale * rise[i] + 0.3;
    arcs.push_back(a);
  }
  const ArcModes m = arc_modes(arcs, 2);
  ASSERT_EQ(m.modes.size(), 2u);
  EXPECT_NEAR(m.explained[0], 1.0, 1e-9);
  EXPECT_NEAR(std::fabs(correlation(m.modes[0], rise)), 1.0, 1e-9);
  EXPECT_NEAR(m.coordinates[2][0] / m.coordinates[0][0], -4.0, 1e-6);
}

TEST(SceneLabels, ValenceClassFromTheDialogue) {
  const SceneLabeler label = scene_labeler(Vader::builtin(), nullptr);
  EXPECT_EQ(label("INT. HALL - DAY\n\nHERO\nI love this wonderful, happy day!\n").valence, "positive");
  EXPECT_EQ(label("INT. HALL - DAY\n\nHERO\nI hate this. Death and misery and grief.\n").valence, "negative");
  EXPECT_EQ(label("INT. HALL - DAY\n\nHERO\nThe door is on the left.\n").valence, "neutral");
  // Dialogue decides; without any, the whole text is read.
  EXPECT_EQ(label("INT. HALL - DAY\n\nA terrible, cruel murder.\n\nHERO\nWhat a lovely, wonderful gift!\n").valence,
            "positive");
  EXPECT_EQ(label("INT. HALL - DAY\n\nA terrible, cruel murder.\n").valence, "negative");
  EXPECT_EQ(label("").valence, "none");
  EXPECT_EQ(label("INT. HALL - DAY\n\nHERO\nI love it.\n").emotion, "none");  // no lexicon, no emotion
  // A generated passage need not be valid Fountain: read whole.
  const PassageReading r = read_passage("HERO\n[[ an unclosed note and a horrible death", Vader::builtin());
  EXPECT_GT(r.words, 0);
  EXPECT_LT(r.valence, 0);
  EXPECT_EQ(valence_class(0.05), "positive");
  EXPECT_EQ(valence_class(0.0499), "neutral");
  EXPECT_EQ(valence_class(-0.05), "negative");
}

TEST(SceneLabels, AnExplicitNoteWinsAndTheTokensSayWhatWasDerived) {
  const auto lex = EmotionLexicon::load(lexicon_file("labels.txt", "ghost\tfear\t1\nlove\tjoy\t1\nsweet\tjoy\t1\n"));
  // A note labels the scenes after it: the first scene has none, the second fear.
  const Script script = parse_fountain(
      "Title: Two Scenes\nGenre: comedy\n\n# ACT I\n\nINT. GARDEN - DAY\n\nHERO\nA ghost! A horrible ghost!\n\n"
      "[[emotion: fear]]\n\nINT. HALL - NIGHT\n\nHERO\nSweet love, sweet love, what a lovely night.\n",
      "two.fountain");
  Document doc = document_from_script(script);
  const std::string plain = strip_control_tokens(doc.text);
  derive_scene_labels(doc, scene_labeler(Vader::builtin(), &lex));
  ASSERT_EQ(doc.scenes.size(), 2u);
  EXPECT_EQ(doc.scenes[0].emotion, "fear");  // derived: "ghost"
  EXPECT_TRUE(doc.scenes[0].emotion_derived);
  EXPECT_EQ(doc.scenes[0].valence, "negative");
  EXPECT_EQ(doc.scenes[1].emotion, "fear");  // the note, although the words say joy
  EXPECT_FALSE(doc.scenes[1].emotion_derived);
  EXPECT_EQ(doc.scenes[1].valence, "positive");
  const auto line_of = [&](const SceneSpan& s) {
    return doc.text.substr(s.begin, doc.text.find('\n', s.begin) - s.begin);
  };
  EXPECT_EQ(line_of(doc.scenes[0]), "<scene><derived_emotion=fear><valence=negative>");
  EXPECT_EQ(line_of(doc.scenes[1]), "<scene><emotion=fear><valence=positive>");
  EXPECT_EQ(doc.text.back(), '\n');
  EXPECT_EQ(doc.text.substr(doc.scenes[0].end, 7), "\n<scene");  // spans moved with the longer lines
  EXPECT_EQ(doc.scenes[1].end, doc.text.size());
  EXPECT_EQ(strip_control_tokens(doc.text), plain);  // only control tokens changed
  // Labelling again changes nothing.
  const std::string once = doc.text;
  derive_scene_labels(doc, scene_labeler(Vader::builtin(), &lex));
  EXPECT_EQ(doc.text, once);
}

}  // namespace
}  // namespace plotforge::emotion
