#include "analytics/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "emotion/scene_labels.h"

namespace plotforge::analytics {

using nlohmann::json;
using stories::Event;
using stories::Passage;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Anomalies {
  long unknown_passage = 0, bad_data = 0, time_backwards = 0, duplicates = 0, not_a_candidate = 0;
  json to_json() const {
    return {{"unknown_passage", unknown_passage},
            {"bad_data", bad_data},
            {"time_backwards", time_backwards},
            {"duplicates", duplicates},
            {"not_a_candidate", not_a_candidate}};
  }
};

// Label counts among offered and chosen candidates, per label kind.
struct Preferences {
  std::map<std::string, std::map<std::string, std::pair<long, long>>> counts;  // kind -> value -> (offered, chosen)
  static std::map<std::string, std::string> labels(const Passage& p) {
    std::map<std::string, std::string> out;
    for (const char* k : {"genre", "beat", "emotion", "valence"}) {
      if (p.controls.contains(k) && p.controls[k].is_string()) out[k] = p.controls[k].get<std::string>();
    }
    if (p.controls.contains("measured_valence") && p.controls["measured_valence"].is_number()) {
      out["measured_valence"] = emotion::valence_class(p.controls["measured_valence"].get<double>());
    }
    return out;
  }
  void add(const std::vector<const Passage*>& shown, const Passage& chosen) {
    for (const Passage* p : shown)
      for (const auto& [k, v] : labels(*p)) ++counts[k][v].first;
    for (const auto& [k, v] : labels(chosen)) ++counts[k][v].second;
  }
  json to_json(long choices) const {
    json j = json::object();
    for (const auto& [kind, values] : counts) {
      long offered_total = 0;
      for (const auto& [v, c] : values) offered_total += c.first;
      for (const auto& [v, c] : values) {
        const double offered_share = offered_total ? static_cast<double>(c.first) / offered_total : 0;
        const double chosen_share = choices ? static_cast<double>(c.second) / choices : 0;
        j[kind][v] = {{"offered", c.first},
                      {"chosen", c.second},
                      {"lift", offered_share > 0 ? chosen_share / offered_share : 0.0}};
      }
    }
    return j;
  }
};

json story_report(stories::Store& store, const std::string& id, Anomalies& bad, Preferences& prefs, long& choices) {
  const stories::Story st = store.story(id);
  const std::vector<Passage> tree = store.passages(id);
  std::unordered_map<std::int64_t, const Passage*> by_id;
  std::map<std::int64_t, std::vector<std::int64_t>> children;
  for (const auto& p : tree) {
    by_id[p.id] = &p;
    if (p.parent) children[p.parent].push_back(p.id);
  }
  if (!by_id.count(st.root)) {  // a story without its opening (a hand-edited database): nothing to replay
    bad.unknown_passage += static_cast<long>(store.events(id).size());
    return {{"id", st.id},
            {"title", st.title},
            {"viewers", 0},
            {"completion_rate", 0.0},
            {"distinct_paths", 0},
            {"path_entropy_bits", 0.0},
            {"most_travelled_path", json::array()},
            {"funnel", json::array()},
            {"passages", json::array()}};
  }
  struct Viewer {
    std::int64_t at = 0;    // current passage
    double last = -1e300;   // time of the previous event
    double arrived = 0;     // when they reached `at`
    bool audience = false;  // acted, beyond creating
    std::set<std::int64_t> reached;
  };
  std::map<std::string, Viewer> viewers;
  std::map<std::int64_t, std::map<std::int64_t, long>> chosen;  // parent -> child -> choices
  std::map<std::int64_t, std::vector<double>> dwell, gaps;
  std::set<std::string> seen;
  for (const Event& e : store.events(id)) {
    if (e.data.is_null()) {
      ++bad.bad_data;
      continue;
    }
    // A choice, an undo or a dwell must name a passage of this story.
    const bool needs_passage = e.kind == "choose" || e.kind == "undo" || e.kind == "dwell";
    if ((e.passage || needs_passage) && !by_id.count(e.passage)) {
      ++bad.unknown_passage;
      continue;
    }
    const std::string key =
        e.kind + "|" + std::to_string(e.passage) + "|" + e.viewer + "|" + e.data.dump() + "|" + std::to_string(e.at);
    if (!seen.insert(key).second) {
      ++bad.duplicates;
      continue;
    }
    Viewer& v = viewers[e.viewer];
    if (v.at == 0) {
      v.at = st.root;
      v.arrived = e.at;
      v.reached.insert(st.root);
    }
    if (e.at < v.last) {
      ++bad.time_backwards;
      continue;
    }
    v.last = e.at;
    if (e.kind == "create" || e.kind == "edit") continue;
    v.audience = true;
    if (e.kind == "choose") {
      const Passage& p = *by_id.at(e.passage);
      if (p.parent != v.at) {
        ++bad.not_a_candidate;
        continue;
      }
      ++chosen[p.parent][p.id];
      gaps[v.at].push_back(e.at - v.arrived);
      v.at = p.id;
      v.arrived = e.at;
      v.reached.insert(p.id);
      // What the choice was made against: the ids the server recorded as shown.
      std::vector<const Passage*> shown;
      if (e.data.contains("shown") && e.data["shown"].is_array()) {
        for (const auto& x : e.data["shown"]) {
          if (x.is_number_integer() && by_id.count(x.get<std::int64_t>()))
            shown.push_back(by_id[x.get<std::int64_t>()]);
        }
      }
      if (shown.empty()) {
        for (std::int64_t c : children[p.parent]) shown.push_back(by_id[c]);
      }
      prefs.add(shown, p);
      ++choices;
    } else if (e.kind == "undo") {
      if (!by_id.count(e.passage) || by_id[v.at]->parent != e.passage) {
        ++bad.not_a_candidate;
        continue;
      }
      gaps[v.at].push_back(e.at - v.arrived);
      v.at = e.passage;
      v.arrived = e.at;
    } else if (e.kind == "dwell") {
      if (e.data.contains("seconds") && e.data["seconds"].is_number()) {
        dwell[e.passage].push_back(e.data["seconds"].get<double>());
      } else {
        ++bad.bad_data;
      }
    }
  }
  // Per passage.
  std::map<std::int64_t, long> visits, last_here;
  long audience = 0, completed = 0;
  std::map<std::vector<std::int64_t>, long> paths;
  for (const auto& [name, v] : viewers) {
    if (!v.audience) continue;
    ++audience;
    for (std::int64_t p : v.reached) ++visits[p];
    ++last_here[v.at];
    completed += children[v.at].empty();
    std::vector<std::int64_t> path;
    for (std::int64_t n = v.at; n; n = by_id[n]->parent) path.push_back(n);
    std::reverse(path.begin(), path.end());
    ++paths[path];
  }
  json passages = json::array();
  for (const auto& p : tree) {
    long made = 0;
    for (const auto& [c, n] : chosen[p.id]) made += n;
    json kids = json::array();
    for (std::int64_t c : children[p.id]) {
      const long n = chosen[p.id].count(c) ? chosen[p.id][c] : 0;
      kids.push_back({{"id", c}, {"choices", n}, {"share", made ? static_cast<double>(n) / made : 0.0}});
    }
    const long here = visits.count(p.id) ? visits[p.id] : 0;
    const auto& times = dwell[p.id].empty() ? gaps[p.id] : dwell[p.id];
    passages.push_back({{"id", p.id},
                        {"parent", p.parent ? json(p.parent) : json(nullptr)},
                        {"visits", here},
                        {"choices", made},
                        {"children", kids},
                        {"dropoff", here ? static_cast<double>(last_here[p.id]) / here : 0.0},
                        {"median_seconds", median(times)},
                        {"text", p.text.substr(0, 80)}});
  }
  double entropy = 0;
  for (const auto& [path, n] : paths) {
    const double q = static_cast<double>(n) / audience;
    entropy -= q * std::log2(q);
  }
  json main_path = json::array(), funnel = json::array();
  for (std::int64_t n = st.root; n;) {
    main_path.push_back(n);
    funnel.push_back(visits.count(n) ? visits[n] : 0);
    std::int64_t next = 0;
    long best = 0;
    for (const auto& [c, k] : chosen[n]) {
      if (k > best) {
        best = k;
        next = c;
      }
    }
    n = next;
  }
  return {{"id", st.id},
          {"title", st.title},
          {"viewers", audience},
          {"completion_rate", audience ? static_cast<double>(completed) / audience : 0.0},
          {"distinct_paths", paths.size()},
          {"path_entropy_bits", entropy == 0 ? 0.0 : entropy},
          {"most_travelled_path", main_path},
          {"funnel", funnel},
          {"passages", passages}};
}

}  // namespace

json audience_report(stories::Store& store, const std::string& story_id) {
  Anomalies bad;
  Preferences prefs;
  long choices = 0;
  json out_stories = json::array();
  const std::vector<std::string> ids = story_id.empty() ? store.story_ids() : std::vector<std::string>{story_id};
  for (const auto& id : ids) out_stories.push_back(story_report(store, id, bad, prefs, choices));
  // Events that name a story no longer in the database (the whole log only).
  if (story_id.empty()) {
    std::set<std::string> known(ids.begin(), ids.end());
    for (const Event& e : store.events("")) bad.unknown_passage += !known.count(e.story);
  }
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"object", "analytics"},
          {"generated", now},
          {"stories", out_stories},
          {"choices", choices},
          {"preferences", prefs.to_json(choices)},
          {"anomalies", bad.to_json()}};
}

}  // namespace plotforge::analytics
