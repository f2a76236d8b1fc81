// The 37 plays: acts, scenes and speeches from the parser equal what each
// file's own markup implies, counted here line by line without the parser.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "datasets/annotations.h"
#include "datasets/fountain.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

struct Counts {
  int acts = 0, scenes = 0, speeches = 0, labelled_scenes = 0;
};

// The converter's markup (shared/corpora/README.md): "# ACT" sections,
// forced scene headings ".SCENE ..." / ".PROLOGUE", and cues that are a line
// after a blank line, in capitals or forced with '@', followed by a
// non-blank line.
Counts count_markup(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  static const std::regex cue(R"(^(@.+|[A-Z0-9 .,'&:-]*[A-Z][A-Z0-9 .,'&:-]*)( \(CONT'D\))?$)");
  Counts c;
  std::size_t body = 0;  // skip the title page: everything before the first blank line
  while (body < lines.size() && !lines[body].empty()) ++body;
  bool beat_seen = false;
  for (std::size_t i = body; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("# ", 0) == 0) ++c.acts;
    if (l.rfind("[[beat:", 0) == 0) beat_seen = true;
    if (l.size() > 1 && l[0] == '.' && l[1] != '.') {
      ++c.scenes;
      c.labelled_scenes += beat_seen;
      continue;
    }
    const bool after_blank = i == 0 || lines[i - 1].empty();
    const bool before_text = i + 1 < lines.size() && !lines[i + 1].empty();
    if (after_blank && before_text && std::regex_match(l, cue)) ++c.speeches;
  }
  return c;
}

TEST(GoldenShakespeare, CountsMatchMarkupForAll37Plays) {
  const std::string dir = testing::shared_corpora() + "/shakespeare";
  if (!std::filesystem::is_directory(dir)) {
    // A clone on its own has no ../shared beside it; CI always does, so there
    // a missing directory is a failure, not a skip.
    if (std::getenv("CI"))
      FAIL() << dir << " missing: CI must run the golden test on the 37 plays of ../shared/corpora";
    GTEST_SKIP() << dir << " missing: the golden test needs the 37 plays of ../shared/corpora "
                 << "(configure with -DPLOTFORGE_SHARED_CORPORA=DIR to point elsewhere)";
  }
  int plays = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".fountain") continue;
    ++plays;
    const std::string path = entry.path().string();
    const Counts expect = count_markup(path);
    const Script s = read_fountain_file(path);
    const Annotations a = annotate(s);
    int speeches = 0;
    for (const auto& e : s.elements) speeches += e.type == ElementType::kCharacter;
    EXPECT_EQ(a.acts, expect.acts) << path;
    EXPECT_EQ(static_cast<int>(a.scenes.size()), expect.scenes) << path;
    EXPECT_EQ(speeches, expect.speeches) << path;
    EXPECT_GT(expect.speeches, 300) << path;  // the count itself is not vacuous
    EXPECT_EQ(a.genres.size(), 1u) << path;
    int labelled = 0;
    for (const auto& sc : a.scenes) labelled += sc.beat != "none";
    EXPECT_EQ(labelled, expect.labelled_scenes) << path;
  }
  EXPECT_EQ(plays, 37);
}

}  // namespace
}  // namespace plotforge
