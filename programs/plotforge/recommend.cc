// plotforge recommend eval | train | predict (docs/recommendation.md):
// a recommender evaluated on an interaction log under a documented split,
// trained into a run directory, and asked for a user's top k.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "programs/common/options.h"
#include "programs/plotforge/commands.h"
#include "recommendation/als.h"
#include "recommendation/bpr.h"
#include "recommendation/delimited.h"
#include "recommendation/interactions.h"
#include "recommendation/item_features.h"
#include "recommendation/itemknn.h"
#include "recommendation/metrics.h"
#include "recommendation/popularity.h"
#include "recommendation/recommender.h"
#include "recommendation/run.h"
#include "recommendation/script_features.h"
#include "recommendation/settings.h"
#include "recommendation/split.h"

namespace plotforge::programs {

namespace {

// The data and split options eval and train share.
void add_split_options(po::options_description& o, const std::string& default_split) {
  o.add_options()("interactions", po::value<std::string>()->required(),
                  "CSV or TSV: user, item[, value[, timestamp]] per line")(
      "split", po::value<std::string>()->default_value(default_split),
      default_split == "none" ? "none (train on everything) | stratified | leave-last" : "stratified | leave-last")(
      "train-share", po::value<double>()->default_value(0.75), "stratified: each user's share kept for training")(
      "k", po::value<int>()->default_value(10), "list length the metrics read");
}

int check_k(const po::variables_map& vm) {
  const int k = vm["k"].as<int>();
  if (k < 1 || k > 1000) throw InputError("--k: must be in [1, 1000]");
  return k;
}

int recommend_eval(const Args& args) {
  po::options_description o("plotforge recommend eval");
  add_split_options(o, "stratified");
  recommendation::RecommenderSettings rs;
  add_fields(o, rs);
  o.add_options()("test", po::value<std::string>()->default_value(""),
                  "a test split of its own (same format); --interactions is then the training split")(
      "json", po::bool_switch(), "print the metrics as JSON");
  po::variables_map vm;
  if (!parse_options("usage: plotforge recommend eval --interactions FILE [--model popularity|itemknn|als|bpr|hybrid] "
                     "[--item-features FILE] [--split stratified|leave-last] [--k 10]",
                     o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &rs);
  rs.validate();
  const int k = check_k(vm);
  const std::string& model = rs.model;
  const std::string split_name = vm["split"].as<std::string>();
  auto data = recommendation::read_interactions(vm["interactions"].as<std::string>());
  recommendation::ItemFeatures features;
  if (!rs.item_features.empty()) features = recommendation::read_item_features(rs.item_features, data);
  recommendation::Split split;
  const std::string test_path = vm["test"].as<std::string>();
  if (!test_path.empty()) {
    split.train = data.rows;  // --interactions is the training split
    split.test = recommendation::read_test_split(test_path, data);
  } else if (split_name == "stratified") {
    split = recommendation::stratified_split(data, vm["train-share"].as<double>(), rs.seed);
  } else if (split_name == "leave-last") {
    split = recommendation::leave_last_out(data);
  } else {
    throw InputError("--split " + split_name + ": not stratified or leave-last");
  }
  std::vector<std::vector<std::int32_t>> recs;
  const auto t0 = std::chrono::steady_clock::now();
  if (model == "itemknn") {
    recs = recommendation::recommend_itemknn(split.train, data.users.size(), features, k, rs.neighbours);
  } else if (model == "als") {
    const recommendation::AlsOptions ao = rs.als();
    const auto m =
        recommendation::train_als(split.train, data.users.size(), data.items.size(), ao, [&](int it, double loss) {
          std::fprintf(stderr, "als: iteration %d/%d, loss %.6g\n", it, ao.iterations, loss);
        });
    recs = recommendation::recommend_factors(m, split.train, k);
  } else if (model == "bpr" || model == "hybrid") {
    const recommendation::BprOptions bo = rs.bpr();
    const auto m = recommendation::train_bpr(split.train, data.users.size(), data.items.size(),
                                             model == "hybrid" ? &features : nullptr, bo, [&](int e, double loss) {
                                               std::fprintf(stderr, "%s: epoch %d/%d, loss %.5f\n", model.c_str(), e,
                                                            bo.epochs, loss);
                                             });
    recs = recommendation::recommend_factors(m, split.train, k);
  } else {
    recs = recommendation::recommend_popular(split.train, data.users.size(), data.items.size(), k);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto m = recommendation::evaluate_top_k(recs, recommendation::items_by_user(split.test, data.users.size()), k,
                                                data.items.size());
  nlohmann::json j = m.to_json();
  j["model"] = model;
  j["split"] = test_path.empty() ? split_name : "file";
  j["interactions"] = data.rows.size();
  j["train"] = split.train.size();
  j["test"] = split.test.size();
  j["seconds"] = seconds;  // training and ranking
  if (vm["json"].as<bool>()) {
    std::cout << j.dump(1) << "\n";
  } else {
    std::printf("%s on %zu users, %zu items, %zu interactions (%s split: %zu train, %zu test)\n", model.c_str(),
                data.users.size(), data.items.size(), data.rows.size(),
                test_path.empty() ? split_name.c_str() : test_path.c_str(), split.train.size(), split.test.size());
    std::printf(
        "NDCG@%d %.4f  Precision@%d %.4f  Recall@%d %.4f  MAP@%d %.4f  coverage %.4f  (%ld users, %.2f s to train "
        "and rank)\n",
        k, m.ndcg, k, m.precision, k, m.recall, k, m.map, m.coverage, m.users, seconds);
  }
  return 0;
}

int recommend_train(const Args& args) {
  po::options_description o("plotforge recommend train");
  add_split_options(o, "none");
  recommendation::RecommenderSettings rs;
  add_fields(o, rs);
  o.add_options()("out", po::value<std::string>()->required(), "the run directory")(
      "checkpoint-every", po::value<int>()->default_value(5),
      "epochs (bpr, hybrid) or sweeps (als) between checkpoints")(
      "resume", po::bool_switch(), "continue the run in --out from its newest checkpoint");
  po::variables_map vm;
  if (!parse_options(
          "usage: plotforge recommend train --interactions FILE --out RUN [--model popularity|als|bpr|hybrid] "
          "[--item-features FILE] [--split none|stratified|leave-last] [--resume]",
          o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &rs);
  recommendation::TrainRunOptions t;
  t.model = rs;
  t.interactions = vm["interactions"].as<std::string>();
  t.out = vm["out"].as<std::string>();
  t.split = vm["split"].as<std::string>();
  t.train_share = vm["train-share"].as<double>();
  t.k = check_k(vm);
  t.checkpoint_every = vm["checkpoint-every"].as<int>();
  t.resume = vm["resume"].as<bool>();
  const nlohmann::json m =
      recommendation::train_run(t, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  if (!m.is_null()) {
    std::printf("%s, %s split: NDCG@%d %.4f  Precision@%d %.4f  Recall@%d %.4f  MAP@%d %.4f  coverage %.4f\n",
                rs.model.c_str(), t.split.c_str(), t.k, m["ndcg"].get<double>(), t.k, m["precision"].get<double>(), t.k,
                m["recall"].get<double>(), t.k, m["map"].get<double>(), m["coverage"].get<double>());
  }
  std::printf("trained %s into %s (recommender.json, recommender.safetensors)\n", rs.model.c_str(), t.out.c_str());
  return 0;
}

int recommend_predict(const Args& args) {
  po::options_description o("plotforge recommend predict");
  o.add_options()("run", po::value<std::string>()->required(), "a run of 'plotforge recommend train'")(
      "user", po::value<std::vector<std::string>>()->multitoken(), "user ids (repeatable); none: a new user")(
      "history", po::value<std::string>()->default_value(""),
      "items a user not in training chose, comma-separated (folded in; docs/recommendation.md)")(
      "k", po::value<int>()->default_value(10), "recommendations per user")("json", po::bool_switch(),
                                                                            "one JSON object per user");
  po::variables_map vm;
  if (!parse_options("usage: plotforge recommend predict --run RUN --user U [--user V ...] [--history i1,i2] [--k 10]",
                     o, args, &vm)) {
    return 0;
  }
  const int k = check_k(vm);
  const auto r = recommendation::load_recommender(vm["run"].as<std::string>());
  std::vector<std::string> users =
      vm.count("user") ? vm["user"].as<std::vector<std::string>>() : std::vector<std::string>{""};
  std::vector<std::string> history;
  for (auto& item : recommendation::split_fields(vm["history"].as<std::string>(), ',')) {
    if (!item.empty()) history.push_back(std::move(item));
  }
  for (const auto& u : users) {
    const auto recs = recommendation::recommend(r, u, history, k);
    if (vm["json"].as<bool>()) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& x : recs.items) items.push_back({{"item", x.item}, {"score", x.score}});
      std::cout << nlohmann::json{{"user", u}, {"source", recs.source}, {"items", items}}.dump() << "\n";
    } else {
      std::printf("%s (%s):", u.empty() ? "(new user)" : u.c_str(), recs.source.c_str());
      for (const auto& x : recs.items) std::printf(" %s", x.item.c_str());
      std::printf("\n");
    }
  }
  return 0;
}

int recommend_features(const Args& args) {
  po::options_description o("plotforge recommend features");
  o.add_options()("scripts", po::value<std::vector<std::string>>()->required()->multitoken(),
                  "Fountain scripts or directories of them")("out", po::value<std::string>()->required(),
                                                             "the item-features CSV to write")(
      "vae", po::value<std::string>()->default_value(""),
      "a VAE run: add its posterior mean over each script's scenes (vae_1..vae_N)")(
      "max-scenes", po::value<int>()->default_value(400), "with --vae: scenes read per script");
  po::variables_map vm;
  if (!parse_options("usage: plotforge recommend features --scripts DIR|FILE... --out items.csv [--vae RUN]", o, args,
                     &vm)) {
    return 0;
  }
  recommendation::ScriptFeatureOptions so;
  so.vae = vm["vae"].as<std::string>();
  so.max_scenes = vm["max-scenes"].as<int>();
  if (so.max_scenes < 1) throw InputError("--max-scenes: must be at least 1");
  const std::string csv =
      recommendation::script_features_csv(vm["scripts"].as<std::vector<std::string>>(), so,
                                          [](std::size_t done, std::size_t total, const std::string& file) {
                                            std::fprintf(stderr, "features: %zu/%zu %s\n", done, total, file.c_str());
                                          });
  write_file_atomic(vm["out"].as<std::string>(), csv);
  std::printf("wrote %s: %ld scripts\n", vm["out"].as<std::string>().c_str(),
              static_cast<long>(std::count(csv.begin(), csv.end(), '\n')) - 1);
  return 0;
}

}  // namespace

int cmd_recommend(const Args& args) {
  const std::string sub = args.empty() ? "" : args[0];
  const Args rest = args.empty() ? Args() : Args(args.begin() + 1, args.end());
  if (sub == "eval") return recommend_eval(rest);
  if (sub == "train") return recommend_train(rest);
  if (sub == "predict") return recommend_predict(rest);
  if (sub == "features") return recommend_features(rest);
  throw InputError(
      "usage: plotforge recommend eval|train|predict|features ... ('plotforge recommend SUBCOMMAND --help'; "
      "docs/recommendation.md)");
}

}  // namespace plotforge::programs
