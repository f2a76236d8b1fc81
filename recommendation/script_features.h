// Item features computed from scripts, for the content side of the
// recommenders (docs/recommendation.md, "Features from scripts"): one row
// per script, written as the item-features CSV that read_item_features
// reads (item_features.h).
//
//   item        the file's name without its extension ("hamlet")
//   genre       its genres, joined by "|" (title page or annotations)
//   shape       the nearest of Reagan's six arc shapes (emotion/arcs.h)
//   valence_q1..valence_q4  the mean of its DCT arc over each quarter of
//               its narrative time: the arc's profile, in [-1, 1]
//   valence     the mean VADER valence of its dialogue (the window arc's mean)
//   vae_1..vae_N  with a VAE run: the mean over its scenes of the VAE's
//               posterior means (models/vae.h), a text embedding
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace plotforge::recommendation {

struct ScriptFeatureOptions {
  std::string vae;       // a VAE run or checkpoint; empty: no embedding
  int max_scenes = 400;  // scenes per script read by the VAE (its first ones)
};

// Reads each script (Fountain, plain text or JSONL, as `plotforge prepare`
// does; directories are walked) and returns the CSV text. Throws
// InputError naming the file for an unreadable script or one without
// dialogue, and for two scripts with the same item name.
// `progress(done, total, file)` after each script.
std::string script_features_csv(
    const std::vector<std::string>& inputs, const ScriptFeatureOptions& options,
    const std::function<void(std::size_t, std::size_t, const std::string&)>& progress = nullptr);

}  // namespace plotforge::recommendation
