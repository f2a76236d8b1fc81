// Arc-steered stories (docs/stories.md, "Steering along an arc").
//
// A story may carry a target arc: one of Reagan's six shapes
// (emotion/arcs.h) spread over `passages` passages and scaled to [-1, 1],
// or the valence points
// themselves, one per passage, each in [-1, 1]. For the passage at depth d
// after the opening, the target is point d-1. Steering does two things:
//  - conditions the passage on the target's valence class where the model
//    knows valence tokens (trained on a prepare --label-emotions corpus):
//    above 1/3 "positive", below -1/3 "negative", "neutral" between;
//  - measures every candidate's valence (emotion/scene_labels.h) and names
//    the one closest to the target: the pick. The client chooses it (or
//    not): steering never chooses for the viewer, so choices stay theirs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace plotforge::stories {

constexpr int kMaxArcPoints = 64;

// Reads the create body's "arc" (a shape name or a list of numbers) and
// "arc_passages" (with a shape; default 8) into the points to store.
// Throws ApiError(400) naming the field.
std::vector<double> read_arc(const nlohmann::json& body);

// The target for the passage at `depth` (1 is the first after the
// opening), or nothing past the arc's end.
std::optional<double> arc_target(const std::vector<double>& arc, std::size_t depth);

// The valence class the target asks for.
std::string target_valence(double target);

// The index of the measured valence closest to `target` (the first on ties).
std::size_t closest_to(const std::vector<double>& measured, double target);

}  // namespace plotforge::stories
