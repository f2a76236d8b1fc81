// plotforge recommend train's run directory (recommendation/run.h) and the
// torch-free recommender it writes (recommendation/recommender.h): a run
// stopped after a checkpoint and resumed ends exactly where an
// uninterrupted run ends; resumes with other data or settings are refused;
// known, history (fold-in) and cold users are each served by what is known
// of them.
#include "recommendation/run.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "recommendation/recommender.h"
#include "tests/test_util.h"

namespace plotforge::recommendation {
namespace {

namespace fs = std::filesystem;

// Two audiences of 20, two kinds of 20 items: user uN takes 8 items of kind
// N % 2 (i0..i19 or i20..i39), and item i0 is taken by almost everyone.
std::string write_log(const std::string& dir) {
  std::string log = "user,item,value\n";
  for (int u = 0; u < 40; ++u) {
    for (int k = 0; k < 8; ++k) {
      const int item = (u % 2) * 20 + (u * 7 + k * 3) % 20;
      log += "u" + std::to_string(u) + ",i" + std::to_string(item) + ",1\n";
    }
    if ((u * 7) % 20 != 0 && (u * 7 + 3) % 20 != 0 && u % 2 == 1) log += "u" + std::to_string(u) + ",i0,1\n";
  }
  const std::string path = dir + "/log.csv";
  std::ofstream(path) << log;
  return path;
}

std::vector<float> vectors_of(const std::string& run) {
  const Recommender r = load_recommender(run);
  std::vector<float> v = r.user_vectors;
  v.insert(v.end(), r.item_vectors.begin(), r.item_vectors.end());
  v.insert(v.end(), r.item_bias.begin(), r.item_bias.end());
  return v;
}

int lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

TrainRunOptions options(const std::string& log, const std::string& out, const std::string& model, int epochs) {
  TrainRunOptions o;
  o.interactions = log;
  o.out = out;
  o.model.model = model;
  o.model.factors = 8;
  o.model.epochs = epochs;
  o.model.iterations = epochs;
  o.model.batch = 64;
  o.model.lr = 0.05;
  o.checkpoint_every = 2;
  return o;
}

void quiet(const std::string&) {}

TEST(RecommendRun, AResumedRunEndsWhereAnUninterruptedOneEnds) {
  const std::string dir = testing::temp_dir("recommend-run");
  const std::string log = write_log(dir);
  for (const std::string model : {"bpr", "als"}) {
    const std::string whole = dir + "/" + model + "-whole", parts = dir + "/" + model + "-parts";
    train_run(options(log, whole, model, 6), quiet);
    // Trained for 4, then on to 6 from the checkpoint at 4; and a run
    // killed after its checkpoint at 4 (later state removed), resumed.
    train_run(options(log, parts, model, 4), quiet);
    EXPECT_EQ(lines(parts + "/metrics.jsonl"), 4);
    auto more = options(log, parts, model, 6);
    more.resume = true;
    train_run(more, quiet);
    EXPECT_EQ(vectors_of(parts), vectors_of(whole)) << model;
    EXPECT_EQ(lines(parts + "/metrics.jsonl"), 6);
    fs::remove(parts + "/checkpoints/step-00000006.pt");
    fs::remove(parts + "/recommender.json");
    train_run(more, quiet);
    EXPECT_EQ(vectors_of(parts), vectors_of(whole)) << model;
    EXPECT_EQ(lines(parts + "/metrics.jsonl"), 6) << "the epochs after the checkpoint are not logged twice";
    // The loss went down.
    std::ifstream in(whole + "/metrics.jsonl");
    std::string first, last, l;
    std::getline(in, first);
    while (std::getline(in, l)) last = l;
    EXPECT_LT(nlohmann::json::parse(last)["loss"].get<double>(), nlohmann::json::parse(first)["loss"].get<double>())
        << model;
  }
}

TEST(RecommendRun, ResumesWithOtherDataOrSettingsAreRefused) {
  const std::string dir = testing::temp_dir("recommend-refuse");
  const std::string log = write_log(dir);
  train_run(options(log, dir + "/run", "bpr", 2), quiet);
  auto again = options(log, dir + "/run", "bpr", 2);
  try {
    train_run(again, quiet);
    ADD_FAILURE() << "trained over an existing run";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--resume it or choose another --out"), std::string::npos) << e.what();
  }
  again.resume = true;
  again.model.reg = 0.5;
  try {
    train_run(again, quiet);
    ADD_FAILURE() << "resumed with another reg";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("reg"), std::string::npos) << e.what();
  }
  auto fresh = options(log, dir + "/none", "bpr", 2);
  fresh.resume = true;
  EXPECT_THROW(train_run(fresh, quiet), InputError);
  try {
    load_recommender(dir + "/none-at-all");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("plotforge recommend train"), std::string::npos) << e.what();
  }
  // Each of the model's files is checked on load.
  std::ofstream(dir + "/run/recommender.json") << R"({"format_version": 1, "model": "bpr", "factors": 8,
      "users": ["a", "a"], "items": [], "seen": [[], []], "fold_in_reg": 1})";
  EXPECT_THROW(load_recommender(dir + "/run"), InputError);
}

TEST(RecommendRun, KnownHistoryAndColdUsersAreEachServedByWhatIsKnown) {
  const std::string dir = testing::temp_dir("recommend-serve");
  const std::string log = write_log(dir);
  auto o = options(log, dir + "/als", "als", 10);
  o.model.reg = 0.1;
  o.split = "stratified";
  const nlohmann::json test = train_run(o, quiet);
  EXPECT_GT(test["ndcg"].get<double>(), 0.3);  // random order: about 0.1 on two kinds of 20
  const Recommender r = load_recommender(dir + "/als");
  auto kind = [](const std::string& item) { return std::stoi(item.substr(1)) / 20; };
  // A known user of kind 1: their own vector, their items left out.
  const Recommendations known = recommend(r, "u1", {}, 5);
  EXPECT_EQ(known.source, "known");
  ASSERT_EQ(known.items.size(), 5u);
  const auto& seen = r.seen[r.user_index.at("u1")];
  for (const auto& x : known.items) {
    EXPECT_EQ(kind(x.item), 1) << x.item;
    EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), r.item_index.at(x.item)));
  }
  // A newcomer who chose three kind-0 items: folded in, shown kind 0.
  const Recommendations history = recommend(r, "newcomer", {"i2", "i5", "i9", "not-an-item"}, 5);
  EXPECT_EQ(history.source, "history");
  for (const auto& x : history.items) {
    EXPECT_EQ(kind(x.item), 0) << x.item;
    EXPECT_NE(x.item, "i2");
  }
  // Nothing known: the most popular, i0 first.
  const Recommendations cold = recommend(r, "stranger", {"nothing-known"}, 3);
  EXPECT_EQ(cold.source, "cold");
  EXPECT_EQ(cold.items.at(0).item, "i0");
  EXPECT_GE(cold.items[0].score, cold.items[1].score);
}

// Item-kNN kept in a run: each item's neighbours by content, and the same
// scoring for a known user and for a newcomer with a history, reaching an
// item nobody chose.
TEST(RecommendRun, ItemKnnServesFromItsStoredNeighbours) {
  const std::string dir = testing::temp_dir("recommend-knn");
  const std::string log = write_log(dir);
  std::string items = "item,kind\n";
  for (int i = 0; i < 41; ++i) items += "i" + std::to_string(i) + "," + (i < 20 || i == 40 ? "A" : "B") + "\n";
  std::ofstream(dir + "/items.csv") << items;  // i40: kind A, chosen by nobody
  auto o = options(log, dir + "/knn", "itemknn", 1);
  o.model.item_features = dir + "/items.csv";
  o.split = "stratified";
  const nlohmann::json test = train_run(o, quiet);
  EXPECT_GT(test["ndcg"].get<double>(), 0.3);
  const Recommender r = load_recommender(dir + "/knn");
  ASSERT_EQ(r.neighbours.size(), 41u);
  EXPECT_FALSE(fs::exists(dir + "/knn/checkpoints")) << "nothing trained by steps";
  auto kind = [](const std::string& item) { return item == "i40" ? 0 : std::stoi(item.substr(1)) / 20; };
  for (const auto& x : recommend(r, "u0", {}, 5).items) EXPECT_EQ(kind(x.item), 0) << x.item;
  const Recommendations newcomer = recommend(r, "newcomer", {"i21", "i22"}, 30);
  EXPECT_EQ(newcomer.source, "history");
  for (std::size_t k = 0; k < 18; ++k) EXPECT_EQ(kind(newcomer.items[k].item), 1) << newcomer.items[k].item;
  bool cold_reached = false;
  for (const auto& x : recommend(r, "u2", {}, 40).items) cold_reached = cold_reached || x.item == "i40";
  EXPECT_TRUE(cold_reached) << "content reaches the item nobody chose";
}

}  // namespace
}  // namespace plotforge::recommendation
