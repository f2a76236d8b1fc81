#include "datasets/loader.h"

#include <set>

#include <gtest/gtest.h>

#include "base/error.h"
#include "datasets/annotations.h"

namespace plotforge {
namespace {

// Tokens 0..n-1 so every window is recognisable by its first token.
std::shared_ptr<CorpusData> synthetic(std::uint32_t n_train, std::uint32_t n_val) {
  auto c = std::make_shared<CorpusData>();
  c->vocab_size = static_cast<int>(n_train + n_val);
  for (std::uint32_t i = 0; i < n_train + n_val; ++i) c->tokens.push_back(i);
  CorpusDocument a;
  a.token_end = n_train;
  a.genres = {"tragedy"};
  CorpusDocument b;
  b.token_begin = n_train;
  b.token_end = n_train + n_val;
  b.split = Split::kValidation;
  c->documents = {a, b};
  for (std::uint32_t s = 0; s + 10 <= n_train; s += 10) {
    CorpusScene sc;
    sc.token_begin = s;
    sc.token_end = s + 3 + s % 7;
    sc.beat = s % 20 == 0 ? "climax" : "none";
    c->scenes.push_back(sc);
  }
  return c;
}

LoaderOptions opts(int batch, int rank = 0, int world = 1, int prefetch = 2) {
  LoaderOptions o;
  o.batch_size = batch;
  o.rank = rank;
  o.world_size = world;
  o.prefetch = prefetch;
  o.seed = 42;
  return o;
}

TEST(TokenWindowLoader, TargetsAreInputsShiftedByOne) {
  TokenWindowLoader l(synthetic(1000, 100), 16, opts(4));
  const TokenBatch b = l.next();
  ASSERT_EQ(b.inputs.size(), 64u);
  for (std::size_t i = 0; i < b.inputs.size(); ++i) EXPECT_EQ(b.targets[i], b.inputs[i] + 1);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(b.inputs[r * 16] % 16, 0);  // windows start at stride multiples
}

TEST(TokenWindowLoader, DeterministicGivenSeed) {
  TokenWindowLoader a(synthetic(1000, 100), 16, opts(4)), b(synthetic(1000, 100), 16, opts(4));
  for (int i = 0; i < 30; ++i) EXPECT_EQ(a.next().inputs, b.next().inputs);
  LoaderOptions other = opts(4);
  other.seed = 43;
  TokenWindowLoader c(synthetic(1000, 100), 16, other);
  TokenWindowLoader d(synthetic(1000, 100), 16, opts(4));
  EXPECT_NE(c.next().inputs, d.next().inputs);
}

TEST(TokenWindowLoader, EpochCoversTheSplitOnce) {
  TokenWindowLoader l(synthetic(1601, 100), 16, opts(5, 0, 1, 0));
  ASSERT_EQ(l.windows(), 100u);
  std::multiset<int> starts;
  for (int i = 0; i < 20; ++i) {
    const TokenBatch b = l.next();
    for (int r = 0; r < 5; ++r) starts.insert(b.inputs[r * 16]);
  }
  EXPECT_EQ(starts.size(), 100u);
  EXPECT_EQ(std::set<int>(starts.begin(), starts.end()).size(), 100u);
  EXPECT_LT(*starts.rbegin(), 1601);
}

TEST(TokenWindowLoader, RanksSliceTheSameGlobalBatch) {
  // World 1 with batch 4 equals ranks 0 and 1 of world 2 with batch 2, laid
  // side by side, for every step: data does not depend on the world size.
  TokenWindowLoader one(synthetic(2000, 100), 8, opts(4));
  TokenWindowLoader r0(synthetic(2000, 100), 8, opts(2, 0, 2));
  TokenWindowLoader r1(synthetic(2000, 100), 8, opts(2, 1, 2));
  for (int step = 0; step < 70; ++step) {  // crosses an epoch boundary
    const TokenBatch g = one.next(), a = r0.next(), b = r1.next();
    std::vector<std::int32_t> joined = a.inputs;
    joined.insert(joined.end(), b.inputs.begin(), b.inputs.end());
    ASSERT_EQ(joined, g.inputs) << "step " << step;
    std::set<std::int32_t> sa(a.inputs.begin(), a.inputs.end()), sb(b.inputs.begin(), b.inputs.end());
    for (int x : sa) EXPECT_EQ(sb.count(x), 0u);
  }
}

TEST(TokenWindowLoader, ResumeContinuesWithTheNextBatch) {
  TokenWindowLoader full(synthetic(1000, 100), 16, opts(3));
  std::vector<TokenBatch> expect;
  for (int i = 0; i < 12; ++i) expect.push_back(full.next());
  TokenWindowLoader first(synthetic(1000, 100), 16, opts(3));
  for (int i = 0; i < 5; ++i) first.next();
  const std::uint64_t saved = first.position();
  EXPECT_EQ(saved, 5u);
  TokenWindowLoader resumed(synthetic(1000, 100), 16, opts(3));
  resumed.set_position(saved);
  for (int i = 5; i < 12; ++i) {
    const TokenBatch b = resumed.next();
    EXPECT_EQ(b.index, static_cast<std::uint64_t>(i));
    EXPECT_EQ(b.inputs, expect[i].inputs);
  }
}

TEST(TokenWindowLoader, ValidationSplitOnlyAndTooShortIsAnError) {
  LoaderOptions o = opts(2);
  o.split = Split::kValidation;
  TokenWindowLoader v(synthetic(1000, 100), 8, o);
  const TokenBatch b = v.next();
  for (int x : b.inputs) EXPECT_GE(x, 1000);
  EXPECT_THROW(TokenWindowLoader(synthetic(1000, 5), 8, o), InputError);
  EXPECT_THROW(TokenWindowLoader(synthetic(1000, 100), 8, opts(2, 2, 2)), InputError);
}

TEST(SceneLoader, ScenesWithLabelsPadded) {
  SceneLoader l(synthetic(1000, 100), 6, opts(4));
  EXPECT_EQ(l.scenes(), 100u);
  const SceneBatch b = l.next();
  ASSERT_EQ(b.lengths.size(), 4u);
  const int climax = static_cast<int>(std::find(beat_vocabulary().begin(), beat_vocabulary().end(), "climax") -
                                      beat_vocabulary().begin());
  for (int r = 0; r < 4; ++r) {
    ASSERT_LE(b.lengths[r], 6);
    const int first = b.tokens[r * b.length];
    EXPECT_EQ(first % 10, 0);  // scenes start at multiples of 10
    EXPECT_EQ(b.lengths[r], std::min(6, 3 + first % 7));
    EXPECT_EQ(b.beat[r], first % 20 == 0 ? climax : -1);
    EXPECT_EQ(b.genre[r], 0);
    for (int t = b.lengths[r]; t < b.length; ++t) EXPECT_EQ(b.tokens[r * b.length + t], -1);
  }
}

TEST(SceneLoader, WindowsOfLongScenesMoveAndRepeatExactly) {
  auto corpus = synthetic(1000, 100);
  LoaderOptions o = opts(8, 0, 1, 0);
  o.scene_windows = true;
  SceneLoader a(corpus, 4, o), b(corpus, 4, o);
  std::set<std::int64_t> offsets_seen;
  for (std::uint64_t g = 0; g < 40; ++g) {
    const SceneBatch x = a.make(g), y = b.make(g);
    EXPECT_EQ(x.tokens, y.tokens) << "batch " << g << ": windows must be reproducible";
    for (int r = 0; r < x.batch; ++r) {
      const CorpusScene& sc = corpus->scenes[x.scene[r]];
      const int first = x.tokens[r * x.length];
      ASSERT_EQ(x.lengths[r], std::min<int>(4, sc.token_end - sc.token_begin));
      // A window inside the scene, of consecutive tokens.
      EXPECT_GE(first, static_cast<int>(sc.token_begin));
      EXPECT_LE(first + x.lengths[r], static_cast<int>(sc.token_end));
      for (int t = 1; t < x.lengths[r]; ++t) EXPECT_EQ(x.tokens[r * x.length + t], first + t);
      if (sc.token_end - sc.token_begin > 4) offsets_seen.insert(first - static_cast<int>(sc.token_begin));
    }
  }
  EXPECT_GE(offsets_seen.size(), 3u) << "long scenes should be cut at varying offsets";
  // Without windows every row is its scene's start.
  SceneLoader starts(corpus, 4, opts(8, 0, 1, 0));
  const SceneBatch z = starts.make(3);
  for (int r = 0; r < z.batch; ++r)
    EXPECT_EQ(z.tokens[r * z.length], static_cast<int>(corpus->scenes[z.scene[r]].token_begin));
}

}  // namespace
}  // namespace plotforge
