#include "recommendation/recommender.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/cholesky.h"
#include "base/error.h"
#include "base/json_file.h"
#include "base/safetensors.h"
#include "recommendation/top_k.h"

namespace plotforge::recommendation {

namespace {

TensorToWrite tensor(const std::string& name, const std::vector<float>& v, std::vector<std::int64_t> shape) {
  TensorToWrite t;
  t.name = name;
  t.dtype = DType::kF32;
  t.shape = std::move(shape);
  t.bytes.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), v.size() * 4);
  return t;
}

std::vector<float> read_tensor(const SafetensorsFile& f, const std::string& path, const std::string& name,
                               const std::vector<std::int64_t>& shape) {
  const TensorView& t = f.at(name);
  if (t.shape != shape)
    throw InputError(path + ": tensor '" + name + "' does not have the shape recommender.json implies");
  return to_float32(t, path, name);
}

}  // namespace

void save_recommender(const std::string& run_dir, const Recommender& r) {
  const std::int64_t U = static_cast<std::int64_t>(r.users.size()), I = static_cast<std::int64_t>(r.items.size()),
                     f = r.factors;
  std::vector<TensorToWrite> tensors = {tensor("users", r.user_vectors, {U, f}),
                                        tensor("items", r.item_vectors, {I, f}), tensor("item_bias", r.item_bias, {I}),
                                        tensor("popularity", r.popularity, {I})};
  if (r.model == "itemknn") {
    std::size_t n = 0;
    for (const auto& l : r.neighbours) n = std::max(n, l.size());
    std::vector<std::int32_t> idx(static_cast<std::size_t>(I) * n, -1);
    std::vector<float> sims(idx.size(), 0.f);
    for (std::size_t i = 0; i < r.neighbours.size(); ++i) {
      for (std::size_t k = 0; k < r.neighbours[i].size(); ++k) {
        idx[i * n + k] = r.neighbours[i][k].first;
        sims[i * n + k] = r.neighbours[i][k].second;
      }
    }
    TensorToWrite t = tensor("neighbour_sims", sims, {I, static_cast<std::int64_t>(n)});
    tensors.push_back(t);
    t.name = "neighbour_items";
    t.dtype = DType::kI32;
    if (!idx.empty()) std::memcpy(t.bytes.data(), idx.data(), idx.size() * 4);
    tensors.push_back(std::move(t));
  }
  AtomicPath st(run_dir + "/recommender.safetensors");
  write_safetensors(st.temp_path(), tensors, {{"format", "pt"}, {"producer", "plotforge recommend train"}});
  st.commit();
  const nlohmann::json j = {
      {"format_version", 1}, {"model", r.model}, {"factors", r.factors},        {"users", r.users},
      {"items", r.items},    {"seen", r.seen},   {"fold_in_reg", r.fold_in_reg}};
  write_file_atomic(run_dir + "/recommender.json", j.dump() + "\n");
}

Recommender load_recommender(const std::string& run_dir) {
  const std::string jpath = run_dir + "/recommender.json", spath = run_dir + "/recommender.safetensors";
  if (!std::filesystem::exists(jpath)) {
    throw InputError(jpath + ": no trained recommender here (train one with 'plotforge recommend train --out " +
                     run_dir + "')");
  }
  const nlohmann::json j = read_json_object(jpath);
  Recommender r;
  try {
    if (j.at("format_version").get<int>() != 1) throw InputError(jpath + ": format_version is not 1");
    r.model = j.at("model").get<std::string>();
    r.factors = j.at("factors").get<int>();
    r.users = j.at("users").get<std::vector<std::string>>();
    r.items = j.at("items").get<std::vector<std::string>>();
    r.seen = j.at("seen").get<std::vector<std::vector<std::int32_t>>>();
    r.fold_in_reg = j.at("fold_in_reg").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(jpath + ": " + e.what());
  }
  if (r.factors < 0 || r.factors > 4096) throw InputError(jpath + ": 'factors' is not in [0, 4096]");
  if (r.seen.size() != r.users.size()) throw InputError(jpath + ": 'seen' does not have one list per user");
  if (!(r.fold_in_reg > 0)) throw InputError(jpath + ": 'fold_in_reg' must be positive");
  for (std::size_t u = 0; u < r.users.size(); ++u) {
    if (!r.user_index.emplace(r.users[u], static_cast<std::int32_t>(u)).second) {
      throw InputError(jpath + ": user '" + r.users[u] + "' listed twice");
    }
    auto& s = r.seen[u];
    std::sort(s.begin(), s.end());
    for (const std::int32_t i : s) {
      if (i < 0 || static_cast<std::size_t>(i) >= r.items.size()) {
        throw InputError(jpath + ": 'seen' of user '" + r.users[u] + "' holds an item index out of range");
      }
    }
  }
  for (std::size_t i = 0; i < r.items.size(); ++i) {
    if (!r.item_index.emplace(r.items[i], static_cast<std::int32_t>(i)).second) {
      throw InputError(jpath + ": item '" + r.items[i] + "' listed twice");
    }
  }
  const SafetensorsFile f = SafetensorsFile::open(spath);
  const std::int64_t U = static_cast<std::int64_t>(r.users.size()), I = static_cast<std::int64_t>(r.items.size()),
                     F = r.factors;
  r.user_vectors = read_tensor(f, spath, "users", {U, F});
  r.item_vectors = read_tensor(f, spath, "items", {I, F});
  r.item_bias = read_tensor(f, spath, "item_bias", {I});
  r.popularity = read_tensor(f, spath, "popularity", {I});
  if (r.model == "itemknn") {
    const TensorView& idx = f.at("neighbour_items");
    if (idx.dtype != DType::kI32 || idx.shape.size() != 2 || idx.shape[0] != I) {
      throw InputError(spath + ": tensor 'neighbour_items' is not int32 [items, neighbours]");
    }
    const std::int64_t n = idx.shape[1];
    const std::vector<float> sims = read_tensor(f, spath, "neighbour_sims", {I, n});
    r.neighbours.resize(static_cast<std::size_t>(I));
    for (std::int64_t i = 0; i < I; ++i) {
      for (std::int64_t k = 0; k < n; ++k) {
        std::int32_t j;
        std::memcpy(&j, idx.data + 4 * (i * n + k), 4);
        if (j < 0) break;
        if (j >= I) throw InputError(spath + ": 'neighbour_items' holds an item index out of range");
        r.neighbours[i].emplace_back(j, sims[i * n + k]);
      }
    }
  }
  return r;
}

Recommendations recommend(const Recommender& r, const std::string& user, const std::vector<std::string>& history,
                          int k) {
  const int f = r.factors;
  const std::size_t I = r.items.size();
  Recommendations out;
  std::vector<std::int32_t> seen;
  std::vector<double> x;  // the user's vector; empty: popularity
  const auto known = r.user_index.find(user);
  if (known != r.user_index.end()) {
    out.source = "known";
    seen = r.seen[known->second];
    const float* u = &r.user_vectors[static_cast<std::size_t>(known->second) * f];
    x.assign(u, u + f);
  } else {
    for (const auto& h : history) {
      const auto it = r.item_index.find(h);
      if (it != r.item_index.end()) seen.push_back(it->second);
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    out.source = seen.empty() ? "cold" : "history";
    if (!seen.empty() && f > 0 && r.model != "itemknn") {
      std::vector<double> a(static_cast<std::size_t>(f) * f, 0.0), b(f, 0.0);
      for (int d = 0; d < f; ++d) a[d * f + d] = r.fold_in_reg;
      for (const std::int32_t i : seen) {
        const float* y = &r.item_vectors[static_cast<std::size_t>(i) * f];
        for (int p = 0; p < f; ++p) {
          b[p] += y[p];
          for (int q = 0; q < f; ++q) a[p * f + q] += static_cast<double>(y[p]) * y[q];
        }
      }
      x = cholesky_solve(cholesky(a, f), b);
    }
  }
  std::vector<double> knn;  // itemknn: each item's summed similarity to the user's items
  if (r.model == "itemknn" && !seen.empty()) {
    knn.assign(I, 0.0);
    for (const std::int32_t i : seen)
      for (const auto& [j, s] : r.neighbours[i]) knn[j] += s;
  }
  auto score = [&](std::int32_t i) -> double {
    if (!knn.empty()) return knn[i];
    if (x.empty()) return r.popularity[i];
    const float* y = &r.item_vectors[static_cast<std::size_t>(i) * f];
    double s = r.item_bias[i];
    for (int d = 0; d < f; ++d) s += x[d] * y[d];
    return s;
  };
  for (const std::int32_t i : best_unseen(I, score, seen, k)) out.items.push_back({r.items[i], score(i)});
  return out;
}

}  // namespace plotforge::recommendation
