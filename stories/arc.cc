#include "stories/arc.h"

#include <algorithm>
#include <cmath>

#include "emotion/arcs.h"
#include "serving/json_fields.h"

namespace plotforge::stories {

using nlohmann::json;

std::vector<double> read_arc(const json& body) {
  std::vector<double> points;
  if (!body.contains("arc") || body["arc"].is_null()) {
    if (body.contains("arc_passages") && !body["arc_passages"].is_null()) {
      serving::bad_field("arc_passages", "only with an 'arc' shape");
    }
    return points;
  }
  const json& arc = body["arc"];
  if (arc.is_string()) {
    const std::string name = arc.get<std::string>();
    const auto& shapes = emotion::reagan_shapes();
    const std::array<double, emotion::kArcPoints>* shape = nullptr;
    std::string known;
    for (const auto& [n, s] : shapes) {
      if (n == name) shape = &s;
      known += (known.empty() ? "" : ", ") + n;
    }
    if (!shape) serving::bad_field("arc", "unknown shape '" + name + "'; known: " + known + ", or a list of valences");
    long long n = 8;
    if (body.contains("arc_passages") && !body["arc_passages"].is_null()) {
      n = serving::json_integer(body["arc_passages"], "arc_passages", 2, kMaxArcPoints);
    }
    // The shape at the middle of each passage's share of the story, scaled
    // to [-1, 1] (rags to riches climbs from -1 to 1, not from 0).
    const auto [lo, hi] = std::minmax_element(shape->begin(), shape->end());
    for (long long i = 0; i < n; ++i) {
      const double t = (i + 0.5) / static_cast<double>(n);
      const int k = std::min(emotion::kArcPoints - 1, static_cast<int>(t * emotion::kArcPoints));
      points.push_back(2 * ((*shape)[k] - *lo) / (*hi - *lo) - 1);
    }
    return points;
  }
  if (!arc.is_array()) serving::bad_field("arc", "must be a shape name or a list of valences in [-1, 1]");
  if (body.contains("arc_passages") && !body["arc_passages"].is_null()) {
    serving::bad_field("arc_passages", "a list of valences gives one point per passage already");
  }
  if (arc.empty() || arc.size() > static_cast<std::size_t>(kMaxArcPoints)) {
    serving::bad_field("arc", "a list of 1 to " + std::to_string(kMaxArcPoints) + " valences");
  }
  for (const json& v : arc) {
    const double x = serving::json_number(v, "arc");
    if (!(x >= -1 && x <= 1)) serving::bad_field("arc", "valences must be in [-1, 1]");
    points.push_back(x);
  }
  return points;
}

std::optional<double> arc_target(const std::vector<double>& arc, std::size_t depth) {
  if (depth == 0 || depth > arc.size()) return std::nullopt;
  return arc[depth - 1];
}

std::string target_valence(double target) {
  if (target > 1.0 / 3) return "positive";
  if (target < -1.0 / 3) return "negative";
  return "neutral";
}

std::size_t closest_to(const std::vector<double>& measured, double target) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < measured.size(); ++i) {
    if (std::fabs(measured[i] - target) < std::fabs(measured[best] - target)) best = i;
  }
  return best;
}

}  // namespace plotforge::stories
