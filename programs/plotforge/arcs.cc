// plotforge arcs: the emotional arc of each script (emotion/arcs.h), its
// nearest of Reagan's six shapes, per-scene and per-character valence, and
// the corpus' leading modes; --out DIR writes arcs.json for
// scripts/plot_arcs.py's PNGs.
#include "emotion/arcs.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "datasets/fountain.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

int cmd_arcs(const Args& args) {
  po::options_description o("plotforge arcs");
  o.add_options()("files", po::value<std::vector<std::string>>()->composing(), "Fountain scripts")(
      "window", po::value<int>()->default_value(0),
      "sliding window in dialogue words (0: a tenth of each script, at least 100)")(
      "low-pass", po::value<int>()->default_value(5), "DCT components the smooth arc keeps")(
      "modes", po::value<int>()->default_value(3), "leading modes of the corpus to report")(
      "json", po::bool_switch(), "print the whole analysis as JSON")(
      "out", po::value<std::string>()->default_value(""),
      "write DIR/arcs.json (then: python3 scripts/plot_arcs.py DIR)");
  po::positional_options_description pos;
  pos.add("files", -1);
  po::variables_map vm;
  if (!parse_options("usage: plotforge arcs [--window N] [--json] [--out DIR] FILE...", o, args, &vm, &pos)) return 0;
  if (!vm.count("files")) throw InputError("give one or more Fountain files");
  emotion::ArcOptions ao;
  ao.window = vm["window"].as<int>();
  ao.low_pass = vm["low-pass"].as<int>();
  const int k = vm["modes"].as<int>();
  if (ao.window < 0) throw InputError("--window: must be >= 0");
  if (ao.low_pass < 1 || ao.low_pass > 50) throw InputError("--low-pass: must be in [1, 50]");
  if (k < 0 || k > emotion::kArcPoints) throw InputError("--modes: must be in [0, 100]");

  std::vector<emotion::ScriptArc> arcs;
  for (const auto& f : vm["files"].as<std::vector<std::string>>()) {
    arcs.push_back(emotion::script_arc(read_fountain_file(f), emotion::Vader::builtin(), ao));
  }
  std::vector<std::array<double, emotion::kArcPoints>> series;
  for (const auto& a : arcs) series.push_back(a.arc);
  const emotion::ArcModes modes = emotion::arc_modes(series, k);

  nlohmann::json scripts = nlohmann::json::array();
  for (std::size_t i = 0; i < arcs.size(); ++i) {
    const auto& a = arcs[i];
    nlohmann::json scenes = nlohmann::json::array(), speeches = nlohmann::json::array(),
                   characters = nlohmann::json::object(), shapes = nlohmann::json::object();
    for (const auto& s : a.scenes) {
      scenes.push_back({{"heading", s.heading},
                        {"act", s.act},
                        {"line", s.line},
                        {"start", a.words ? static_cast<double>(s.start) / a.words : 0.0},
                        {"valence", s.valence},
                        {"speeches", s.speeches}});
    }
    for (const auto& sp : a.speeches) {
      speeches.push_back({{"line", sp.line},
                          {"character", sp.character},
                          {"scene", sp.scene},
                          {"words", sp.words},
                          {"valence", sp.valence}});
    }
    for (const auto& [name, v] : a.characters) characters[name] = {{"valence", v.first}, {"speeches", v.second}};
    for (const auto& s : a.shapes) shapes[s.name] = s.r;
    scripts.push_back({{"file", a.source},
                       {"title", a.title},
                       {"genres", a.genres},
                       {"words", a.words},
                       {"arc", a.arc},
                       {"arc_dct", a.arc_dct},
                       {"shape", a.shape.name},
                       {"shape_r", a.shape.r},
                       {"shapes", shapes},
                       {"modes", modes.coordinates.empty() ? std::vector<double>{} : modes.coordinates[i]},
                       {"scenes", scenes},
                       {"characters", characters},
                       {"speeches", speeches}});
  }
  const nlohmann::json all = {{"window", ao.window},
                              {"low_pass", ao.low_pass},
                              {"modes", modes.modes},
                              {"explained", modes.explained},
                              {"scripts", scripts}};
  const std::string dir = vm["out"].as<std::string>();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir);
    write_file_atomic(dir + "/arcs.json", all.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::fprintf(stderr, "plotforge arcs: wrote %s/arcs.json; plots: python3 scripts/plot_arcs.py %s\n", dir.c_str(),
                 dir.c_str());
  }
  if (vm["json"].as<bool>()) {
    std::cout << all.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const auto& a : arcs) {
    // Where the valence turns: the lowest and the highest scene.
    const emotion::SceneValence *low = nullptr, *high = nullptr;
    for (const auto& s : a.scenes) {
      if (s.speeches == 0) continue;
      if (!low || s.valence < low->valence) low = &s;
      if (!high || s.valence > high->valence) high = &s;
    }
    std::printf("%s%s%s: %lld dialogue words, %zu speeches, %zu scenes; shape %s (r %.2f)\n", a.source.c_str(),
                a.title.empty() ? "" : " — ", a.title.c_str(), a.words, a.speeches.size(), a.scenes.size(),
                a.shape.name.c_str(), a.shape.r);
    if (low && high) {
      std::printf("  lowest scene: %s (line %d, act %d, valence %+.3f); highest: %s (line %d, act %d, %+.3f)\n",
                  low->heading.c_str(), low->line, low->act, low->valence, high->heading.c_str(), high->line, high->act,
                  high->valence);
    }
  }
  for (std::size_t m = 0; m < modes.modes.size(); ++m) {
    std::printf("corpus mode %zu explains %.1f%% of the arcs' variance\n", m + 1, 100 * modes.explained[m]);
  }
  return 0;
}

}  // namespace plotforge::programs
