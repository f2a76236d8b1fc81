#include "stories/generation_request.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <random>
#include <set>

#include "serving/completion_request.h"
#include "serving/json_fields.h"

namespace plotforge::stories {

using nlohmann::json;
using serving::json_integer;
using serving::json_number;

namespace {
constexpr int kMaxCandidates = 16;
}  // namespace

std::int64_t node_field(const json& j, std::int64_t fallback) {
  if (!j.contains("node") || j["node"].is_null()) return fallback;
  return json_integer(j["node"], "node", 1, std::numeric_limits<std::int64_t>::max());
}

Generation read_generation(const json& body, const Story& st, const Tokenizer& tok) {
  static const std::set<std::string> known = {"node",    "k",      "max_tokens", "temperature", "top_p",
                                              "top_k",   "min_p",  "seed",       "beat",        "emotion",
                                              "valence", "stream", "viewer",     "personalise"};
  for (const auto& [key, value] : body.items()) {
    if (!known.count(key)) serving::bad_field(key, "unknown field (see docs/stories.md)");
  }
  Generation g;
  g.node = node_field(body, st.current);
  SamplingParams& p = g.params;
  p.temperature = 0.8f;
  p.top_p = 0.95f;
  p.max_new_tokens = 64;
  p.n = 3;
  p.seed = std::random_device{}();
  for (const json* src : {&st.controls, &body}) {
    const json& j = *src;
    auto has = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
    if (has("k")) p.n = static_cast<int>(json_integer(j["k"], "k", 1, kMaxCandidates));
    if (has("max_tokens")) p.max_new_tokens = static_cast<int>(json_integer(j["max_tokens"], "max_tokens", 1, 4096));
    if (has("temperature")) {
      const double t = json_number(j["temperature"], "temperature");
      if (t < 0 || t > 2) serving::bad_field("temperature", "must be in [0, 2]");
      p.temperature = static_cast<float>(t);
    }
    if (has("top_p")) {
      const double t = json_number(j["top_p"], "top_p");
      if (!(t > 0 && t <= 1)) serving::bad_field("top_p", "must be in (0, 1]");
      p.top_p = static_cast<float>(t);
    }
    if (has("top_k")) p.top_k = static_cast<int>(json_integer(j["top_k"], "top_k", 0, 1 << 20));
    if (has("min_p")) {
      const double t = json_number(j["min_p"], "min_p");
      if (!(t >= 0 && t < 1)) serving::bad_field("min_p", "must be in [0, 1)");
      p.min_p = static_cast<float>(t);
    }
    if (has("beat")) g.beat = serving::read_control_label(j, "beat", tok);
    if (has("emotion")) g.emotion = serving::read_control_label(j, "emotion", tok);
    if (has("valence")) g.valence = serving::read_control_label(j, "valence", tok);
  }
  if (body.contains("seed") && !body["seed"].is_null()) {
    p.seed = static_cast<std::uint64_t>(json_integer(body["seed"], "seed", 0, std::numeric_limits<long long>::max()));
  }
  if (body.contains("stream") && !body["stream"].is_null()) g.stream = serving::json_bool(body["stream"], "stream");
  g.viewer = viewer_field(body);
  if (body.contains("personalise") && !body["personalise"].is_null()) {
    g.personalise = serving::json_bool(body["personalise"], "personalise");
  }
  return g;
}

std::string viewer_field(const json& body) {
  if (!body.is_object() || !body.contains("viewer") || body["viewer"].is_null()) return "";
  const std::string v = serving::json_string(body["viewer"], "viewer");
  const bool ok = !v.empty() && v.size() <= 128 && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '@' || c == '-';
  });
  if (!ok) serving::bad_field("viewer", "1 to 128 letters, digits or _.@-");
  return v;
}

}  // namespace plotforge::stories
