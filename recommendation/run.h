// plotforge recommend train: a recommender trained into a run directory,
// with the generators' conventions (training/run.h):
//
//   RUN/config.json               the settings, the data files, the split
//   RUN/metrics.jsonl             one line per epoch (bpr, hybrid) or sweep
//                                 (als): {"epoch": e, "loss": l, "seconds": s};
//                                 then, with a split, one line of test metrics
//   RUN/checkpoints/step-N.pt     every --checkpoint-every epochs and at the
//                                 end (training/checkpoint.h; kind
//                                 "recommender"): the factors, Adam's state
//   RUN/recommender.{safetensors,json}  the trained model for predict and the
//                                 story server (recommendation/recommender.h)
//
// --resume continues from the newest checkpoint, with the same data and
// settings (checked; --epochs or --iterations may grow, to train on), and
// ends where an uninterrupted run would (tested).
// popularity and itemknn have nothing to train by steps: their runs hold
// config.json and the recommender (itemknn's: each item's neighbours).
#pragma once

#include <functional>
#include <string>

#include "recommendation/settings.h"

namespace plotforge::recommendation {

struct TrainRunOptions {
  RecommenderSettings model;
  std::string interactions, out;
  std::string split = "none";  // none (train on everything) | stratified | leave-last
  double train_share = 0.75;
  int k = 10;  // the test metrics' list length
  int checkpoint_every = 5;
  bool resume = false;
};

// Trains, writes the run, and returns the test metrics' line (empty
// without a split). `progress` gets one line per epoch or sweep.
nlohmann::json train_run(const TrainRunOptions& options, const std::function<void(const std::string&)>& progress);

}  // namespace plotforge::recommendation
