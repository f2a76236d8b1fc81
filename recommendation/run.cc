#include "recommendation/run.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/json_file.h"
#include "recommendation/interactions.h"
#include "recommendation/item_features.h"
#include "recommendation/itemknn.h"
#include "recommendation/metrics.h"
#include "recommendation/popularity.h"
#include "recommendation/recommender.h"
#include "recommendation/split.h"
#include "training/checkpoint.h"

namespace plotforge::recommendation {

namespace fs = std::filesystem;

namespace {

std::vector<float> flat(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// What a resumed run must share with the run it continues.
nlohmann::json identity(const TrainRunOptions& o) {
  nlohmann::json j = to_json(o.model);
  j.erase("device");  // a run may move between devices
  j.erase("epochs");  // and be trained on for longer
  j.erase("iterations");
  j["interactions"] = fs::weakly_canonical(o.interactions).string();
  j["split"] = o.split;
  j["train_share"] = o.train_share;
  return j;
}

}  // namespace

void RecommenderSettings::validate() const {
  if (model != "popularity" && model != "itemknn" && model != "als" && model != "bpr" && model != "hybrid") {
    throw InputError("--model " + model + ": not one of popularity, itemknn, als, bpr, hybrid");
  }
  if ((model == "itemknn" || model == "hybrid") && item_features.empty()) {
    throw InputError("--model " + model + ": give --item-features FILE");
  }
  if (factors < 0 || reg < 0) throw InputError("--factors and --reg: must not be negative (0: the model's default)");
}

AlsOptions RecommenderSettings::als() const {
  AlsOptions o;
  if (factors > 0) o.factors = factors;
  if (reg > 0) o.reg = reg;
  o.iterations = iterations;
  o.alpha = alpha;
  o.seed = seed;
  o.device = device;
  return o;
}

BprOptions RecommenderSettings::bpr() const {
  BprOptions o;
  if (factors > 0) o.factors = factors;
  if (reg > 0) o.reg = reg;
  o.epochs = epochs;
  o.lr = lr;
  o.batch = batch;
  o.item_identity = item_identity;
  o.seed = seed;
  o.device = device;
  return o;
}

nlohmann::json train_run(const TrainRunOptions& o, const std::function<void(const std::string&)>& progress) {
  const RecommenderSettings& s = o.model;
  s.validate();
  if (o.checkpoint_every < 1) throw InputError("--checkpoint-every: must be at least 1");
  Interactions data = read_interactions(o.interactions);
  ItemFeatures features;
  if (!s.item_features.empty()) features = read_item_features(s.item_features, data);
  Split split;
  if (o.split == "none") {
    split.train = data.rows;
  } else if (o.split == "stratified") {
    split = stratified_split(data, o.train_share, s.seed);
  } else if (o.split == "leave-last") {
    split = leave_last_out(data);
  } else {
    throw InputError("--split " + o.split + ": not none, stratified or leave-last");
  }
  const std::size_t U = data.users.size(), I = data.items.size();

  fs::create_directories(o.out);
  const std::string config_path = o.out + "/config.json", metrics_path = o.out + "/metrics.jsonl";
  nlohmann::json config = identity(o);
  config["format_version"] = 1;
  config["users"] = U;
  config["items"] = I;
  config["interactions_rows"] = data.rows.size();
  const auto checkpoints = list_checkpoints(o.out);
  if (o.resume) {
    if (!fs::exists(config_path) || checkpoints.empty()) {
      throw InputError(o.out + ": no checkpoint to resume from; train without --resume");
    }
    const nlohmann::json before = read_json_object(config_path);
    for (const auto& [key, value] : config.items()) {
      if (key == "model") continue;
      if (!before.contains(key) || before[key] != value) {
        throw InputError(config_path + ": the run was trained with " + key + " = " +
                         (before.contains(key) ? before[key].dump() : "(none)") + ", not " + value.dump() +
                         "; resume with the same data and settings, or train into a new --out");
      }
    }
  } else if (!checkpoints.empty() || fs::exists(o.out + "/recommender.json")) {
    throw InputError(o.out + ": already holds a run; --resume it or choose another --out");
  }
  write_file_atomic(config_path, config.dump(1) + "\n");

  Recommender r;
  r.model = s.model;
  r.users = data.users;
  r.items = data.items;
  r.seen = items_by_user(split.train, U);
  r.popularity.assign(I, 0.f);
  for (const auto& x : split.train) r.popularity[x.item] += 1;
  r.item_bias.assign(I, 0.f);
  std::vector<std::vector<std::int32_t>> recs;

  if (s.model != "popularity" && s.model != "itemknn") {
    // Checkpoints and metrics.jsonl as the generators keep them.
    CheckpointState state;
    state.kind = "recommender";
    state.config = {{"recommender", config}};
    std::unique_ptr<AlsTrainer> als;
    std::unique_ptr<BprTrainer> bpr;
    torch::nn::Module* module = nullptr;
    torch::optim::Optimizer* optimizer = nullptr;
    int total = 0;
    if (s.model == "als") {
      als = std::make_unique<AlsTrainer>(split.train, U, I, s.als());
      module = &als->module();
      total = s.iterations;
    } else {
      bpr = std::make_unique<BprTrainer>(split.train, U, I, s.model == "hybrid" ? &features : nullptr, s.bpr());
      module = &bpr->module();
      optimizer = &bpr->optimizer();
      total = s.epochs;
    }
    int done = 0;
    std::vector<std::string> kept;  // metrics lines of the epochs before the resume point
    if (o.resume) {
      const CheckpointState st = load_checkpoint(checkpoints.front(), {module, optimizer});
      expect_kind(st, "recommender", checkpoints.front());
      done = static_cast<int>(st.step);
      state.elapsed_s = st.elapsed_s;
      if (als) als->set_iteration(done);
      if (bpr) bpr->set_epoch(done);
      std::ifstream in(metrics_path);
      for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("epoch") && j["epoch"].is_number_integer() && j["epoch"].get<int>() <= done) {
          kept.push_back(line);
        }
      }
      progress("resuming " + s.model + " from " + checkpoints.front() + " (epoch " + std::to_string(done) + ")");
    }
    {
      AtomicPath m(metrics_path);
      std::ofstream out(m.temp_path());
      for (const auto& line : kept) out << line << "\n";
      out.close();
      m.commit();
    }
    std::ofstream metrics(metrics_path, std::ios::app);
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = done + 1; e <= total; ++e) {
      const double loss = als ? als->run_iteration() : bpr->run_epoch();
      const double seconds =
          state.elapsed_s + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      metrics << nlohmann::json{{"epoch", e}, {"loss", loss}, {"seconds", seconds}}.dump() << "\n" << std::flush;
      char line[160];
      std::snprintf(line, sizeof line, "%s: %s %d/%d, loss %.6g, %.1f s", s.model.c_str(), als ? "sweep" : "epoch", e,
                    total, loss, seconds);
      progress(line);
      if (e % o.checkpoint_every == 0 || e == total) {
        state.step = e;
        state.elapsed_s = seconds;
        save_checkpoint(checkpoint_path(o.out, e), {module, optimizer}, state);
      }
    }
    const FactorModel fm = als ? als->model() : bpr->model();
    r.factors = static_cast<int>(fm.users.size(1));
    r.user_vectors = flat(fm.users);
    r.item_vectors = flat(fm.items);
    if (fm.item_bias.defined()) r.item_bias = flat(fm.item_bias);
    // BPR's own L2 is per step, far weaker than ALS's; a ridge of 1 keeps a
    // short history's fold-in stable.
    r.fold_in_reg = als ? s.als().reg : 1.0;
    recs = recommend_factors(fm, split.train, o.k);
  } else if (s.model == "itemknn") {
    r.neighbours = item_neighbours(features, s.neighbours);
    recs = recommend_itemknn(split.train, U, features, o.k, s.neighbours);
  } else {
    recs = recommend_popular(split.train, U, I, o.k);
  }
  save_recommender(o.out, r);
  nlohmann::json result;
  if (o.split != "none") {
    const auto m = evaluate_top_k(recs, items_by_user(split.test, U), o.k, I);
    result = m.to_json();
    result["split"] = o.split;
    result["train"] = split.train.size();
    result["test"] = split.test.size();
    std::ofstream(metrics_path, std::ios::app) << nlohmann::json{{"test", result}}.dump() << "\n";
  }
  return result;
}

}  // namespace plotforge::recommendation
