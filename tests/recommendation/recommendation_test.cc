// Interaction logs, splits, top-k metrics on tiny cases computed by hand,
// and the popularity baseline (recommendation/).
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "base/error.h"
#include "recommendation/als.h"
#include "recommendation/bpr.h"
#include "recommendation/interactions.h"
#include "recommendation/item_features.h"
#include "recommendation/itemknn.h"
#include "recommendation/metrics.h"
#include "recommendation/popularity.h"
#include "recommendation/split.h"

namespace plotforge::recommendation {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Interactions, CsvTsvHeadersAndDefaults) {
  const Interactions a =
      parse_interactions("user,item,rating,time\nann,m1,4,100\nann,m2,5,200\nbob,m1,3,150\n", "a.csv");
  ASSERT_EQ(a.rows.size(), 3u);
  EXPECT_EQ(a.users, (std::vector<std::string>{"ann", "bob"}));
  EXPECT_EQ(a.items, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(a.rows[1].value, 5.0f);
  EXPECT_EQ(a.rows[2].time, 150.0);
  // RecBole's .inter header, tabs, and rows without value or time.
  const Interactions b = parse_interactions(
      "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
      "ml.inter");
  EXPECT_EQ(b.rows.size(), 2u);
  EXPECT_EQ(b.items[0], "242");
  const Interactions c = parse_interactions("u1,i1\n\nu2,i1\r\n", "c.csv");
  EXPECT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[0].value, 1.0f);
  EXPECT_EQ(c.users[1], "u2");  // the CR is gone
  // A header of two names is a header too; two ids are not.
  for (const char* header : {"user,item", "userId,movieId", "user_id:token,item_id:token", "Viewer,Story"}) {
    const Interactions h = parse_interactions(std::string(header) + "\nu1,i1\n", "h.csv");
    EXPECT_EQ(h.rows.size(), 1u) << header;
    EXPECT_EQ(h.users, (std::vector<std::string>{"u1"})) << header;
  }
  EXPECT_EQ(parse_interactions("ann,item\nbob,i1\n", "h.csv").rows.size(), 2u);
}

TEST(Interactions, BadFilesNameFileAndLine) {
  EXPECT_NE(error_of([] { parse_interactions("u,i,1\nu\n", "x.csv"); }).find("x.csv:2: expected user, item"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_interactions("u,i,1\nv,i,lots\n", "x.csv"); }).find("x.csv:2: the value 'lots'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_interactions("u,i,1,5\nv,i,1,soon\n", "x.csv"); }).find("x.csv:2: the timestamp"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { parse_interactions("u,i,1\nv,j,2\nu,i,3\n", "x.csv"); }).find("x.csv:3: user 'u' and item 'i'"),
      std::string::npos);
  EXPECT_NE(error_of([] { parse_interactions("u,,1\n", "x.csv"); }).find("x.csv:1: empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_interactions("a,b,c,d,e\n", "x.csv"); }).find("x.csv:1: expected"), std::string::npos);
  EXPECT_NE(error_of([] { parse_interactions("\n\n", "x.csv"); }).find("x.csv: no interactions"), std::string::npos);
  EXPECT_NE(error_of([] { parse_interactions("u,i,nan\n", "x.csv"); }).find("no interactions"), std::string::npos)
      << "a lone unreadable first line is a header";
  EXPECT_NE(error_of([] { read_interactions("/nonexistent.csv"); }).find("/nonexistent.csv"), std::string::npos);
}

Interactions log(int users, int items_each) {
  std::string text;
  for (int u = 0; u < users; ++u)
    for (int i = 0; i < items_each; ++i)
      text += "u" + std::to_string(u) + ",i" + std::to_string((u + i) % 50) + ",1," + std::to_string(i) + "\n";
  return parse_interactions(text, "log.csv");
}

TEST(Split, StratifiedPerUserAndSeeded) {
  const Interactions d = log(30, 8);
  const Split a = stratified_split(d, 0.75, 7), b = stratified_split(d, 0.75, 7), c = stratified_split(d, 0.75, 8);
  EXPECT_EQ(a.train.size(), 30u * 6);
  EXPECT_EQ(a.test.size(), 30u * 2);
  const auto tr = items_by_user(a.train, 30), te = items_by_user(a.test, 30);
  for (int u = 0; u < 30; ++u) {
    EXPECT_EQ(tr[u].size(), 6u);
    EXPECT_EQ(te[u].size(), 2u);
    std::vector<std::int32_t> both;
    std::set_intersection(tr[u].begin(), tr[u].end(), te[u].begin(), te[u].end(), std::back_inserter(both));
    EXPECT_TRUE(both.empty());
  }
  EXPECT_EQ(items_by_user(b.test, 30), te);
  EXPECT_NE(items_by_user(c.test, 30), te);
  EXPECT_THROW(stratified_split(d, 1.0, 1), InputError);
}

TEST(Split, LeaveLastOutTakesTheLatest) {
  const Interactions d = parse_interactions("a,x,1,5\na,y,1,9\na,z,1,7\nb,x,1,3\n", "l.csv");
  const Split s = leave_last_out(d);
  ASSERT_EQ(s.test.size(), 1u);  // b has one interaction: it stays in train
  EXPECT_EQ(d.items[s.test[0].item], "y");
  EXPECT_EQ(s.train.size(), 3u);
}

TEST(Metrics, HandComputedCases) {
  // One user, relevant {1, 3}; recommended [1, 2, 3] at k = 3.
  // DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3).
  // Precision 2/3, recall 1, AP = (1/1 + 2/3) / 2.
  TopK t = evaluate_top_k({{1, 2, 3}}, {{1, 3}}, 3, 10);
  EXPECT_NEAR(t.ndcg, 1.5 / (1 + 1 / std::log2(3.0)), 1e-12);
  EXPECT_NEAR(t.precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(t.recall, 1.0, 1e-12);
  EXPECT_NEAR(t.map, (1 + 2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(t.coverage, 0.3, 1e-12);
  // Two users, one with no test items (skipped), one with no hit.
  t = evaluate_top_k({{4, 5}, {0, 1}}, {{}, {2}}, 2, 6);
  EXPECT_EQ(t.users, 1);
  EXPECT_EQ(t.ndcg, 0.0);
  EXPECT_EQ(t.map, 0.0);
  EXPECT_NEAR(t.coverage, 2.0 / 6, 1e-12);  // only the evaluated user's list counts
  // A perfect list: every metric 1 except precision (k exceeds the relevant).
  t = evaluate_top_k({{7, 8, 0, 1}}, {{7, 8}}, 4, 10);
  EXPECT_NEAR(t.ndcg, 1.0, 1e-12);
  EXPECT_NEAR(t.map, 1.0, 1e-12);
  EXPECT_NEAR(t.precision, 0.5, 1e-12);
}

TEST(Popularity, RanksByUsersAndSkipsWhatTheUserHas) {
  const Interactions d = parse_interactions("a,x\nb,x\nc,x\na,y\nb,y\nc,z\nd,w\n", "p.csv");
  const auto recs = recommend_popular(d.rows, d.users.size(), d.items.size(), 2);
  const auto id = [&](const std::string& s) { return d.item_index.at(s); };
  EXPECT_EQ(recs[d.user_index.at("c")], (std::vector<std::int32_t>{id("y"), id("w")}));  // has x and z
  EXPECT_EQ(recs[d.user_index.at("d")], (std::vector<std::int32_t>{id("x"), id("y")}));
  EXPECT_EQ(recs[d.user_index.at("a")], (std::vector<std::int32_t>{id("z"), id("w")}));
}

TEST(ItemFeatures, NumericCategoricalAndErrors) {
  Interactions d = parse_interactions("u,a\nu,b\n", "i.csv");
  const ItemFeatures f =
      parse_item_features("item,genre,year\na,Comedy|Romance,1990\nb,Drama,2000\nc,Comedy,1995\n", "f.csv", d);
  EXPECT_EQ(f.names, (std::vector<std::string>{"genre=Comedy", "genre=Drama", "genre=Romance", "year"}));
  ASSERT_EQ(d.items.size(), 3u);  // c joined the catalogue: no interactions yet
  EXPECT_EQ(f.vectors[d.item_index.at("a")],
            (std::vector<float>{1, 0, 1, static_cast<float>(-5 / std::sqrt(50.0 / 3))}));
  EXPECT_EQ(f.vectors[d.item_index.at("c")][0], 1.f);
  EXPECT_NEAR(f.vectors[d.item_index.at("c")][3], 0.0, 1e-6);
  Interactions e = parse_interactions("u,a\n", "i.csv");
  auto err = [&](const char* text) {
    try {
      parse_item_features(text, "f.csv", e);
    } catch (const InputError& x) {
      return std::string(x.what());
    }
    return std::string();
  };
  EXPECT_NE(err("item,g\na,x,y\n").find("f.csv:2: expected 2 columns"), std::string::npos);
  EXPECT_NE(err("item,g\na,x\na,y\n").find("f.csv:3: item 'a' is listed twice"), std::string::npos);
  EXPECT_NE(err("item,g\n,x\n").find("f.csv:2: empty item"), std::string::npos);
  EXPECT_NE(err("item,g\n").find("f.csv: no item rows"), std::string::npos);
  EXPECT_NE(err("item\na\n").find("f.csv:1: the header"), std::string::npos);
}

// Two audiences, two kinds of item: every user of group g has 8 items of
// kind g. Content (the kind) should find the rest of their kind.
struct Planted {
  Interactions data;
  ItemFeatures features;
};

Planted planted(int cold_items) {
  std::mt19937 rng(3);
  std::string log;
  for (int u = 0; u < 40; ++u) {
    std::vector<int> items(20);
    std::iota(items.begin(), items.end(), (u % 2) * 20);
    std::shuffle(items.begin(), items.end(), rng);
    for (int i = 0; i < 8; ++i) log += "u" + std::to_string(u) + ",i" + std::to_string(items[i]) + "\n";
  }
  Planted p{parse_interactions(log, "planted.csv"), {}};
  std::string feats = "item,kind,noise\n";
  for (int i = 0; i < 40 + cold_items; ++i) {
    feats += "i" + std::to_string(i) + "," + (i < 20 || i >= 40 ? "A" : "B") + "," + std::to_string(rng() % 7) + "\n";
  }
  p.features = parse_item_features(feats, "planted-items.csv", p.data);
  return p;
}

TEST(ItemKnn, RecoversPlantedStructureFarAboveRandom) {
  Planted p = planted(0);
  const Split s = stratified_split(p.data, 0.75, 1);
  const auto relevant = items_by_user(s.test, p.data.users.size());
  const auto knn = evaluate_top_k(recommend_itemknn(s.train, p.data.users.size(), p.features, 10), relevant, 10,
                                  p.data.items.size());
  // A seeded random order, excluding each user's training items, as the yardstick.
  std::mt19937 rng(5);
  const auto seen = items_by_user(s.train, p.data.users.size());
  std::vector<std::vector<std::int32_t>> random_recs(p.data.users.size());
  for (std::size_t u = 0; u < random_recs.size(); ++u) {
    std::vector<std::int32_t> all(p.data.items.size());
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    for (auto i : all)
      if (random_recs[u].size() < 10 && !std::binary_search(seen[u].begin(), seen[u].end(), i))
        random_recs[u].push_back(i);
  }
  const auto rnd = evaluate_top_k(random_recs, relevant, 10, p.data.items.size());
  EXPECT_GT(knn.ndcg, 2 * rnd.ndcg) << knn.ndcg << " vs random " << rnd.ndcg;
  EXPECT_GT(knn.recall, 0.3);
  // Nearly every recommendation is of the user's own kind.
  const auto recs = recommend_itemknn(s.train, p.data.users.size(), p.features, 10);
  const std::size_t kind_a =
      std::find(p.features.names.begin(), p.features.names.end(), "kind=A") - p.features.names.begin();
  int own = 0, total = 0;
  for (std::size_t u = 0; u < recs.size(); ++u) {
    for (auto i : recs[u]) {
      own += (p.features.vectors[i][kind_a] == 1.f) == (u % 2 == 0);
      ++total;
    }
  }
  EXPECT_GT(own, total * 9 / 10);
}

TEST(ItemKnn, ColdItemsReachUsersThroughContentButNotThroughPopularity) {
  Planted p = planted(5);  // i40..i44: kind A, never interacted with
  const auto knn = recommend_itemknn(p.data.rows, p.data.users.size(), p.features, 10);
  const auto pop = recommend_popular(p.data.rows, p.data.users.size(), p.data.items.size(), 10);
  auto any_cold = [&](const std::vector<std::int32_t>& list) {
    return std::any_of(list.begin(), list.end(),
                       [&](std::int32_t i) { return std::stoi(p.data.items[i].substr(1)) >= 40; });
  };
  int knn_has = 0, pop_has = 0;
  for (std::size_t u = 0; u < knn.size(); u += 2) {  // group A's users
    knn_has += any_cold(knn[u]);
    pop_has += any_cold(pop[u]);
  }
  EXPECT_EQ(knn_has, 20);
  EXPECT_EQ(pop_has, 0);
}

TEST(Als, LossNeverRisesAndASeedGivesTheSameModel) {
  Planted p = planted(0);
  AlsOptions o;  // for 40 users, lighter regularisation than MovieLens' default
  o.factors = 8;
  o.iterations = 6;
  o.reg = 0.1;
  o.alpha = 20;
  std::vector<double> losses;
  const FactorModel a = train_als(p.data.rows, p.data.users.size(), p.data.items.size(), o,
                                  [&](int, double loss) { losses.push_back(loss); });
  ASSERT_EQ(losses.size(), 6u);
  for (std::size_t i = 1; i < losses.size(); ++i) EXPECT_LE(losses[i], losses[i - 1] * (1 + 1e-6)) << i;
  EXPECT_LT(losses.back(), 0.8 * als_loss({a.users * 0, a.items * 0}, p.data.rows, o));  // far below all-zero factors
  const FactorModel b = train_als(p.data.rows, p.data.users.size(), p.data.items.size(), o);
  EXPECT_TRUE(torch::equal(a.users, b.users));
  EXPECT_TRUE(torch::equal(a.items, b.items));
  o.seed = 2;
  const FactorModel c = train_als(p.data.rows, p.data.users.size(), p.data.items.size(), o);
  EXPECT_FALSE(torch::equal(a.users, c.users));
}

TEST(Als, RecoversPlantedStructureAndLeavesColdItemsOut) {
  Planted p = planted(5);  // i40..i44 have features but no interactions
  const Split s = stratified_split(p.data, 0.75, 1);
  AlsOptions o;
  o.factors = 8;
  o.iterations = 10;
  o.reg = 0.1;
  o.alpha = 20;
  const FactorModel m = train_als(s.train, p.data.users.size(), p.data.items.size(), o);
  const auto recs = recommend_factors(m, s.train, 10);
  const auto relevant = items_by_user(s.test, p.data.users.size());
  const auto als = evaluate_top_k(recs, relevant, 10, p.data.items.size());
  const auto pop = evaluate_top_k(recommend_popular(s.train, p.data.users.size(), p.data.items.size(), 10), relevant,
                                  10, p.data.items.size());
  EXPECT_GT(als.ndcg, pop.ndcg) << als.ndcg << " vs popularity " << pop.ndcg;
  EXPECT_GT(als.recall, 0.3);
  int cold = 0;
  for (const auto& list : recs)
    for (auto i : list) cold += std::stoi(p.data.items[i].substr(1)) >= 40;
  EXPECT_EQ(cold, 0);  // pure MF has nothing to say about an item nobody chose
  EXPECT_THROW(train_als(s.train, 2, 2, AlsOptions{0}), InputError);
}

TEST(Bpr, LossFallsAndASeedGivesTheSameModel) {
  Planted p = planted(0);
  BprOptions o;  // for 40 users, lighter regularisation than MovieLens' default
  o.reg = 1e-4;
  o.factors = 8;
  o.epochs = 8;
  o.batch = 64;
  o.lr = 0.05;
  std::vector<double> losses;
  const BprModel a = train_bpr(p.data.rows, p.data.users.size(), p.data.items.size(), nullptr, o,
                               [&](int, double loss) { losses.push_back(loss); });
  ASSERT_EQ(losses.size(), 8u);
  EXPECT_LT(losses.back(), 0.6 * losses.front());
  EXPECT_NEAR(losses.front(), std::log(2.0), 0.15);  // sigmoid(0) at the start
  const BprModel b = train_bpr(p.data.rows, p.data.users.size(), p.data.items.size(), nullptr, o);
  EXPECT_TRUE(torch::equal(a.users, b.users));
  EXPECT_TRUE(torch::equal(a.items, b.items));
  o.seed = 9;
  EXPECT_FALSE(
      torch::equal(a.users, train_bpr(p.data.rows, p.data.users.size(), p.data.items.size(), nullptr, o).users));
  o.factors = 0;
  EXPECT_THROW(train_bpr(p.data.rows, 2, 2, nullptr, o), InputError);
}

TEST(Bpr, PlantedStructureAndTheHybridsColdStart) {
  Planted p = planted(5);  // i40..i44: kind A, features only
  const Split s = stratified_split(p.data, 0.75, 1);
  BprOptions o;
  o.reg = 1e-4;
  o.factors = 8;
  o.epochs = 20;
  o.batch = 64;
  o.lr = 0.05;
  const auto relevant = items_by_user(s.test, p.data.users.size());
  const BprModel mf = train_bpr(s.train, p.data.users.size(), p.data.items.size(), nullptr, o);
  const BprModel hybrid = train_bpr(s.train, p.data.users.size(), p.data.items.size(), &p.features, o);
  const auto pop = evaluate_top_k(recommend_popular(s.train, p.data.users.size(), p.data.items.size(), 10), relevant,
                                  10, p.data.items.size());
  const auto mf_recs = recommend_factors(mf, s.train, 10), hybrid_recs = recommend_factors(hybrid, s.train, 10);
  EXPECT_GT(evaluate_top_k(mf_recs, relevant, 10, p.data.items.size()).ndcg, pop.ndcg);
  EXPECT_GT(evaluate_top_k(hybrid_recs, relevant, 10, p.data.items.size()).ndcg, pop.ndcg);
  // The cold items: the hybrid scores them from their kind, above the other
  // kind's items, for group A's users; plain BPR leaves them at their start.
  auto cold_rank = [&](const BprModel& m, std::size_t u) {
    const auto scores = (m.users[u].unsqueeze(0).mm(m.items.t()) + m.item_bias).squeeze(0);
    const float cold = scores[p.data.item_index.at("i40")].item<float>();
    int above = 0;  // kind-B items scoring above the cold kind-A item
    for (int i = 20; i < 40; ++i) above += scores[p.data.item_index.at("i" + std::to_string(i))].item<float>() > cold;
    return above;
  };
  int hybrid_ok = 0, mf_ok = 0;
  for (std::size_t u = 0; u < p.data.users.size(); u += 2) {
    hybrid_ok += cold_rank(hybrid, u) <= 2;
    mf_ok += cold_rank(mf, u) <= 2;
  }
  EXPECT_GE(hybrid_ok, 15) << "mf " << mf_ok;  // three quarters of the 20 group-A users
  EXPECT_LT(mf_ok, hybrid_ok);
  // Items as their features alone: the cold item is its kind, and nothing
  // marks it down for having been a sampled negative.
  o.item_identity = false;
  const BprModel alone = train_bpr(s.train, p.data.users.size(), p.data.items.size(), &p.features, o);
  int alone_ok = 0;
  for (std::size_t u = 0; u < p.data.users.size(); u += 2) alone_ok += cold_rank(alone, u) == 0;
  EXPECT_GE(alone_ok, 18) << "of 20 group-A users, above every kind-B item";
  EXPECT_GT(evaluate_top_k(recommend_factors(alone, s.train, 10), relevant, 10, p.data.items.size()).ndcg, pop.ndcg);
}

}  // namespace
}  // namespace plotforge::recommendation
