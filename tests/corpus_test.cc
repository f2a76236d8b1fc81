#include "datasets/corpus.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/derived_labels.h"
#include "datasets/digest.h"
#include "datasets/prepare.h"
#include "tests/test_util.h"

namespace plotforge {
namespace {

namespace fs = std::filesystem;

std::string prepared_sample() {
  static const std::string path = [] {
    const std::string out = testing::temp_dir("corpus") + "/sample.h5";
    PrepareOptions o;
    o.quiet = true;
    o.val_fraction = 0.25;
    prepare_corpus({testing::sample_dir()}, testing::sample_tokenizer(), out, o);
    return out;
  }();
  return path;
}

TEST(Corpus, PreparedFileHoldsEveryDocumentExactly) {
  const CorpusData c = read_corpus(prepared_sample());
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  const auto docs = read_documents(testing::sample_dir());
  ASSERT_EQ(c.documents.size(), docs.size());
  EXPECT_EQ(c.tokenizer_sha256, sha256_file(tok.path()));
  EXPECT_EQ(c.vocab_size, tok.vocab_size());
  int val = 0;
  for (const auto& d : c.documents) {
    val += d.split == Split::kValidation;
    const auto& src = *std::find_if(docs.begin(), docs.end(), [&](const Document& x) { return x.source == d.source; });
    std::vector<int> ids(c.tokens.begin() + d.token_begin, c.tokens.begin() + d.token_end);
    ASSERT_EQ(ids.back(), c.eos_id);
    ids.pop_back();
    EXPECT_EQ(tok.decode(ids), src.text) << d.source;
    EXPECT_EQ(d.genres, src.genres);
  }
  EXPECT_EQ(val, 2);  // round(0.25 * 8)
  ASSERT_GT(c.scenes.size(), 50u);
  for (const auto& s : c.scenes) {
    EXPECT_EQ(static_cast<int>(c.tokens[s.token_begin]), tok.piece_id("<scene>"));
    EXPECT_EQ(static_cast<int>(c.tokens[s.token_end - 1]), c.newline_id);
  }
}

TEST(Corpus, ThreadCountDoesNotChangeTheResult) {
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  const auto split = assign_splits(read_documents(testing::sample_dir()), 0.1);
  PrepareOptions one, two;
  one.threads = 1;
  two.threads = 2;
  one.quiet = two.quiet = true;
  const CorpusData a = tokenize_corpus(split, tok, one), b = tokenize_corpus(split, tok, two);
  EXPECT_EQ(a.tokens, b.tokens);
  ASSERT_EQ(a.scenes.size(), b.scenes.size());
  for (std::size_t i = 0; i < a.scenes.size(); ++i) EXPECT_EQ(a.scenes[i].token_begin, b.scenes[i].token_begin);
}

TEST(Corpus, SingleTextFileSplitsAtItsTail) {
  const std::string dir = testing::temp_dir("single");
  std::string text;
  for (int i = 0; i < 400; ++i) text += "Line number " + std::to_string(i) + " of the text.\n";
  testing::write_text(dir + "/t.txt", text);
  const auto split = assign_splits(read_documents(dir + "/t.txt"), 0.1);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0].second, Split::kTrain);
  EXPECT_EQ(split[1].second, Split::kValidation);
  EXPECT_EQ(split[0].first.text + split[1].first.text, text);
  EXPECT_EQ(split[1].first.text.rfind("Line number 360", 0), 0u) << split[1].first.text.substr(0, 40);
}

TEST(Corpus, TruncatedAndForeignFilesAreClearErrors) {
  const std::string dir = testing::temp_dir("bad-h5");
  std::string bytes;
  {
    std::ifstream in(prepared_sample(), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  testing::write_text(dir + "/trunc.h5", bytes.substr(0, bytes.size() / 2));
  testing::write_text(dir + "/text.h5", "not hdf5 at all\n");
  const auto r = testing::run("python3 -c \"import h5py; f = h5py.File('" + dir +
                              "/foreign.h5', 'w'); f['x'] = [1, 2, 3]; f.attrs['format'] = 'other'\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string name : {"trunc.h5", "text.h5", "foreign.h5", "missing.h5"}) {
    try {
      read_corpus(dir + "/" + name);
      FAIL() << name << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(Corpus, FailedPrepareLeavesNoFile) {
  const std::string dir = testing::temp_dir("atomic");
  testing::write_text(dir + "/odd.fountain", "Title: Odd\nGenre: western\n\nINT. SALOON - DAY\n\nDust.\n");
  PrepareOptions o;
  o.quiet = true;
  // The sample tokenizer has no <genre=western>: prepare must fail cleanly.
  EXPECT_THROW(prepare_corpus({dir + "/odd.fountain"}, testing::sample_tokenizer(), dir + "/c.h5", o), InputError);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename() != "odd.fountain";
  EXPECT_EQ(files, 0);
  EXPECT_THROW(prepare_corpus({dir + "/nothing-here"}, testing::sample_tokenizer(), dir + "/c.h5", o), InputError);
}

TEST(Corpus, DerivedLabelsAreWrittenAndReadBack) {
  const std::string out = testing::temp_dir("derived") + "/labelled.h5";
  PrepareOptions o;
  o.quiet = true;
  o.val_fraction = 0.25;
  // A labeler that reads only the scene's length, so the test knows the answer.
  const SceneLabeler by_length = [](std::string_view scene) {
    DerivedLabels d;
    d.valence = scene.size() % 2 ? "positive" : "negative";
    d.emotion = "trust";
    return d;
  };
  prepare_corpus({testing::sample_dir()}, testing::sample_tokenizer(), out, o, by_length);
  const CorpusData c = read_corpus(out);
  const Tokenizer tok = Tokenizer::load(testing::sample_tokenizer());
  auto docs = read_documents(testing::sample_dir());
  ASSERT_EQ(c.scenes.size(), [&] {
    std::size_t n = 0;
    for (const auto& d : docs) n += d.scenes.size();
    return n;
  }());
  int derived = 0, noted = 0;
  for (const auto& s : c.scenes) {
    EXPECT_TRUE(s.valence == "positive" || s.valence == "negative") << s.valence;
    // The scene's control line carries its labels as tokens.
    std::vector<int> line;
    for (auto t = s.token_begin; c.tokens[t] != static_cast<std::uint32_t>(c.newline_id); ++t)
      line.push_back(c.tokens[t]);
    const std::string text = tok.decode(line);
    EXPECT_NE(text.find("<valence=" + s.valence + ">"), std::string::npos) << text;
    if (s.emotion_derived) {
      ++derived;
      EXPECT_EQ(s.emotion, "trust");
      EXPECT_NE(text.find("<derived_emotion=trust>"), std::string::npos) << text;
    } else {
      ++noted;
      EXPECT_EQ(text.find("<derived_emotion="), std::string::npos) << text;
    }
  }
  EXPECT_GT(derived, 0);
  // Every sample scene whose note names an emotion kept it.
  int with_notes = 0;
  for (const auto& d : docs)
    for (const auto& s : d.scenes) with_notes += s.emotion != "none";
  EXPECT_EQ(noted, with_notes);
  // Without a labeler nothing is derived.
  const CorpusData plain = read_corpus(prepared_sample());
  for (const auto& s : plain.scenes) {
    EXPECT_EQ(s.valence, "none");
    EXPECT_FALSE(s.emotion_derived);
  }
}

TEST(Corpus, H5pyReadsTheDocumentedLayout) {
  const CorpusData c = read_corpus(prepared_sample());
  std::uint64_t sum = 0;
  for (auto t : c.tokens) sum += t;
  const auto r =
      testing::run("python3 " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/read_corpus.py " + prepared_sample() + " " +
                   std::to_string(c.tokens.size()) + " " + std::to_string(sum) + " " + std::to_string(c.scenes.size()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace plotforge
