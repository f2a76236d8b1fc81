// plotforge inspect: what a script holds, as text or JSON.
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "datasets/annotations.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"
#include "datasets/text_checks.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

namespace {

nlohmann::json summarize_script(const Script& s) {
  const Annotations a = annotate(s);
  std::map<std::string, int> counts;
  std::set<std::string> characters;
  int speeches = 0;
  for (const Element& e : s.elements) {
    ++counts[element_type_name(e.type)];
    if (e.type == ElementType::kCharacter) {
      ++speeches;
      characters.insert(e.text);
    }
  }
  nlohmann::json j;
  j["source"] = s.source;
  j["title"] = s.title_field("Title");
  j["genres"] = a.genres;
  j["acts"] = a.acts;
  j["scenes"] = a.scenes.size();
  j["speeches"] = speeches;
  j["characters"] = characters;
  nlohmann::json beats = nlohmann::json::array(), emotions = nlohmann::json::array();
  for (const auto& sc : a.scenes) {
    beats.push_back(sc.beat);
    emotions.push_back(sc.emotion);
  }
  j["beats"] = beats;
  j["emotions"] = emotions;
  nlohmann::json tp = nlohmann::json::object();
  for (const auto& [k, v] : s.title_page) tp[k] = v;
  j["title_page"] = tp;
  j["elements"] = counts;
  return j;
}

nlohmann::json summarize_document(const Document& d) {
  nlohmann::json j;
  j["source"] = d.source;
  j["title"] = d.title;
  j["genres"] = d.genres;
  j["scenes"] = d.scenes.size();
  nlohmann::json beats = nlohmann::json::array();
  for (const auto& sc : d.scenes) beats.push_back(sc.beat);
  j["beats"] = beats;
  j["bytes"] = d.text.size();
  return j;
}

void print_text(const nlohmann::json& j) {
  std::cout << j["source"].get<std::string>() << "\n";
  std::cout << "  title:      " << j["title"].get<std::string>() << "\n";
  std::string g;
  for (const auto& x : j["genres"]) g += (g.empty() ? "" : ", ") + x.get<std::string>();
  std::cout << "  genres:     " << (g.empty() ? "(none)" : g) << "\n";
  if (j.contains("acts")) std::cout << "  acts:       " << j["acts"] << "\n";
  std::cout << "  scenes:     " << j["scenes"] << "\n";
  if (j.contains("speeches")) {
    std::cout << "  speeches:   " << j["speeches"] << "\n";
    std::cout << "  characters: " << j["characters"].size() << "\n";
  }
  std::map<std::string, int> beat_counts;
  for (const auto& b : j["beats"]) ++beat_counts[b.get<std::string>()];
  std::string bs;
  for (const auto& [b, n] : beat_counts) bs += (bs.empty() ? "" : ", ") + b + " " + std::to_string(n);
  std::cout << "  beats:      " << (bs.empty() ? "(none)" : bs) << "\n";
  if (j.contains("elements")) {
    std::cout << "  elements:  ";
    for (const auto& [k, v] : j["elements"].items()) std::cout << " " << k << "=" << v;
    std::cout << "\n";
  }
}

}  // namespace

int cmd_inspect(const Args& args) {
  po::options_description o("plotforge inspect");
  o.add_options()("file", po::value<std::vector<std::string>>()->required(), "script files")(
      "json", po::bool_switch(), "print JSON (one object per file; an array for several)");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (!parse_options("usage: plotforge inspect [--json] FILE...", o, args, &vm, &pos)) return 0;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& f : vm["file"].as<std::vector<std::string>>()) {
    const std::string ext = f.size() > 9 ? f.substr(f.size() - 9) : "";
    if (ext == ".fountain" || (f.size() > 5 && f.substr(f.size() - 5) == ".spmd")) {
      all.push_back(summarize_script(read_fountain_file(f)));
    } else {
      for (const auto& d : read_documents(f)) all.push_back(summarize_document(d));
    }
  }
  if (vm["json"].as<bool>()) {
    std::cout << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  } else {
    for (const auto& j : all) print_text(j);
  }
  return 0;
}

}  // namespace plotforge::programs
