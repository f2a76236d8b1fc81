// plotforge recommend eval: a recommender on an interaction log under a
// documented split, with top-k metrics (docs/recommendation.md).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "programs/plotforge/commands.h"
#include "recommendation/als.h"
#include "recommendation/bpr.h"
#include "recommendation/interactions.h"
#include "recommendation/item_features.h"
#include "recommendation/itemknn.h"
#include "recommendation/metrics.h"
#include "recommendation/popularity.h"
#include "recommendation/split.h"

namespace plotforge::programs {

namespace {

int recommend_eval(const Args& args) {
  po::options_description o("plotforge recommend eval");
  o.add_options()("interactions", po::value<std::string>()->required(),
                  "CSV or TSV: user, item[, value[, timestamp]] per line")(
      "model", po::value<std::string>()->default_value("popularity"),
      "popularity | itemknn | als | bpr | hybrid (docs/recommendation.md)")(
      "item-features", po::value<std::string>()->default_value(""),
      "CSV: item, then feature columns (numeric, or categories joined by |); itemknn and hybrid need it")(
      "neighbours", po::value<int>()->default_value(50), "itemknn: similar items kept per item")(
      "factors", po::value<int>(), "als, bpr, hybrid: factors per user and item (default 32 for als, 64 for bpr)")(
      "iterations", po::value<int>()->default_value(15), "als: alternating sweeps")(
      "reg", po::value<double>(), "L2 regularisation (default 10 for als, 0.01 for bpr and hybrid)")(
      "alpha", po::value<double>()->default_value(1), "als: confidence per unit of value (c = 1 + alpha v)")(
      "epochs", po::value<int>()->default_value(30), "bpr, hybrid: epochs of sampled triples")(
      "lr", po::value<double>()->default_value(0.01), "bpr, hybrid: Adam's learning rate")(
      "batch", po::value<int>()->default_value(1024), "bpr, hybrid: triples per step")(
      "device", po::value<std::string>()->default_value("cpu"), "als, bpr, hybrid: cpu or cuda")(
      "split", po::value<std::string>()->default_value("stratified"), "stratified | leave-last")(
      "train-share", po::value<double>()->default_value(0.75), "stratified: each user's share kept for training")(
      "k", po::value<int>()->default_value(10), "list length the metrics read")(
      "seed", po::value<std::uint64_t>()->default_value(1), "the split's seed")("json", po::bool_switch(),
                                                                                "print the metrics as JSON");
  po::variables_map vm;
  if (!parse_options("usage: plotforge recommend eval --interactions FILE [--model popularity|itemknn] "
                     "[--item-features FILE] [--split stratified|leave-last] [--k 10]",
                     o, args, &vm)) {
    return 0;
  }
  const int k = vm["k"].as<int>();
  if (k < 1 || k > 1000) throw InputError("--k: must be in [1, 1000]");
  const std::string model = vm["model"].as<std::string>(), split_name = vm["split"].as<std::string>();
  if (model != "popularity" && model != "itemknn" && model != "als" && model != "bpr" && model != "hybrid") {
    throw InputError("--model " + model + ": not one of popularity, itemknn, als, bpr, hybrid");
  }
  auto data = recommendation::read_interactions(vm["interactions"].as<std::string>());
  const std::string features_path = vm["item-features"].as<std::string>();
  if ((model == "itemknn" || model == "hybrid") && features_path.empty()) {
    throw InputError("--model " + model + ": give --item-features FILE");
  }
  recommendation::ItemFeatures features;
  if (!features_path.empty()) features = recommendation::read_item_features(features_path, data);
  recommendation::Split split;
  if (split_name == "stratified") {
    split = recommendation::stratified_split(data, vm["train-share"].as<double>(), vm["seed"].as<std::uint64_t>());
  } else if (split_name == "leave-last") {
    split = recommendation::leave_last_out(data);
  } else {
    throw InputError("--split " + split_name + ": not stratified or leave-last");
  }
  std::vector<std::vector<std::int32_t>> recs;
  const auto t0 = std::chrono::steady_clock::now();
  if (model == "itemknn") {
    recs = recommendation::recommend_itemknn(split.train, data.users.size(), features, k, vm["neighbours"].as<int>());
  } else if (model == "als") {
    recommendation::AlsOptions ao;
    if (vm.count("factors")) ao.factors = vm["factors"].as<int>();
    ao.iterations = vm["iterations"].as<int>();
    if (vm.count("reg")) ao.reg = vm["reg"].as<double>();
    ao.alpha = vm["alpha"].as<double>();
    ao.seed = vm["seed"].as<std::uint64_t>();
    ao.device = vm["device"].as<std::string>();
    const auto m =
        recommendation::train_als(split.train, data.users.size(), data.items.size(), ao, [&](int it, double loss) {
          std::fprintf(stderr, "als: iteration %d/%d, loss %.6g\n", it, ao.iterations, loss);
        });
    recs = recommendation::recommend_factors(m, split.train, k);
  } else if (model == "bpr" || model == "hybrid") {
    recommendation::BprOptions bo;
    if (vm.count("factors")) bo.factors = vm["factors"].as<int>();
    if (vm.count("reg")) bo.reg = vm["reg"].as<double>();
    bo.epochs = vm["epochs"].as<int>();
    bo.lr = vm["lr"].as<double>();
    bo.batch = vm["batch"].as<int>();
    bo.seed = vm["seed"].as<std::uint64_t>();
    bo.device = vm["device"].as<std::string>();
    const auto m = recommendation::train_bpr(split.train, data.users.size(), data.items.size(),
                                             model == "hybrid" ? &features : nullptr, bo, [&](int e, double loss) {
                                               std::fprintf(stderr, "%s: epoch %d/%d, loss %.5f\n", model.c_str(), e,
                                                            bo.epochs, loss);
                                             });
    recs = recommendation::recommend_bpr(m, split.train, k);
  } else {
    recs = recommendation::recommend_popular(split.train, data.users.size(), data.items.size(), k);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto m = recommendation::evaluate_top_k(recs, recommendation::items_by_user(split.test, data.users.size()), k,
                                                data.items.size());
  nlohmann::json j = m.to_json();
  j["model"] = model;
  j["split"] = split_name;
  j["interactions"] = data.rows.size();
  j["train"] = split.train.size();
  j["test"] = split.test.size();
  j["seconds"] = seconds;  // training and ranking
  if (vm["json"].as<bool>()) {
    std::cout << j.dump(1) << "\n";
  } else {
    std::printf("%s on %zu users, %zu items, %zu interactions (%s split: %zu train, %zu test)\n", model.c_str(),
                data.users.size(), data.items.size(), data.rows.size(), split_name.c_str(), split.train.size(),
                split.test.size());
    std::printf(
        "NDCG@%d %.4f  Precision@%d %.4f  Recall@%d %.4f  MAP@%d %.4f  coverage %.4f  (%ld users, %.2f s to train "
        "and rank)\n",
        k, m.ndcg, k, m.precision, k, m.recall, k, m.map, m.coverage, m.users, seconds);
  }
  return 0;
}

}  // namespace

int cmd_recommend(const Args& args) {
  if (args.empty() || args[0] != "eval") {
    throw InputError(
        "usage: plotforge recommend eval --interactions FILE ... (training the other models: "
        "docs/recommendation.md)");
  }
  return recommend_eval(Args(args.begin() + 1, args.end()));
}

}  // namespace plotforge::programs
