// The recommenders' settings, declared once (base/settings.h): `plotforge
// recommend eval` and `recommend train` take them as options, and a run's
// config.json keeps them. A 0 for factors or reg means the model's own
// default, given beside each.
#pragma once

#include <cstdint>
#include <string>

#include "base/settings.h"
#include "recommendation/als.h"
#include "recommendation/bpr.h"

namespace plotforge::recommendation {

struct RecommenderSettings {
  std::string model = "popularity";  // popularity | itemknn | als | bpr | hybrid
  std::string item_features;         // CSV; itemknn and hybrid need it
  int neighbours = 50;               // itemknn
  int factors = 0;                   // 0: 64 (AlsOptions, BprOptions)
  int iterations = 15;               // als
  double reg = 0;                    // 0: 30 for als, 0.01 for bpr and hybrid
  double alpha = 1;                  // als: confidence per unit of value
  int epochs = 60;                   // bpr, hybrid
  double lr = 0.003;                 // bpr, hybrid: Adam
  int batch = 1024;                  // bpr, hybrid: triples per step
  bool item_identity = true;         // hybrid: items have vectors of their own beside their features'
  std::string device = "cpu";
  std::uint64_t seed = 1;

  template <class V>
  void fields(V&& v) {
    v("model", model, "popularity | itemknn | als | bpr | hybrid (docs/recommendation.md)");
    v("item-features", item_features,
      "CSV: item, then feature columns (numeric, or categories joined by |); itemknn and hybrid need it");
    v("neighbours", neighbours, "itemknn: similar items kept per item");
    v("factors", factors, "als, bpr, hybrid: factors per user and item (0: 64)");
    v("iterations", iterations, "als: alternating sweeps");
    v("reg", reg, "L2 regularisation (0: 30 for als, 0.01 for bpr and hybrid)");
    v("alpha", alpha, "als: confidence per unit of value (c = 1 + alpha v)");
    v("epochs", epochs, "bpr, hybrid: epochs of sampled triples");
    v("lr", lr, "bpr, hybrid: Adam's learning rate");
    v("batch", batch, "bpr, hybrid: triples per step");
    v("item-identity", item_identity,
      "hybrid: items have a vector and bias of their own beside their features' (false: features alone)");
    v("device", device, "als, bpr, hybrid: cpu or cuda");
    v("seed", seed, "the split's and the model's seed");
  }

  // Throws InputError naming the option.
  void validate() const;
  AlsOptions als() const;
  BprOptions bpr() const;
};

}  // namespace plotforge::recommendation
