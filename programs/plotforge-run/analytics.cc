// plotforge-run analytics: the audience report of a stories database
// (analytics/report.h) as DIR/analytics.json; scripts/plot_analytics.py
// DIR draws the charts. Reads while a server runs (SQLite WAL).
#include <filesystem>
#include <iostream>

#include "analytics/report.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "programs/plotforge-run/commands.h"
#include "stories/store.h"

namespace plotforge::programs {

int cmd_analytics(const Args& args) {
  po::options_description o("plotforge-run analytics");
  o.add_options()("db", po::value<std::string>()->required(), "the story server's SQLite database (--db of serve)")(
      "out", po::value<std::string>()->required(), "directory for analytics.json")(
      "story", po::value<std::string>()->default_value(""), "one story's id (default: every story)");
  po::variables_map vm;
  if (!parse_options("usage: plotforge-run analytics --db stories.db --out DIR [--story ID]", o, args, &vm)) return 0;
  const std::string db = vm["db"].as<std::string>(), out = vm["out"].as<std::string>();
  if (!std::filesystem::exists(db)) throw InputError(db + ": no such database; pass the --db the server used");
  stories::Store store(db, false);
  nlohmann::json report;
  try {
    report = analytics::audience_report(store, vm["story"].as<std::string>());
  } catch (const std::exception& e) {
    throw InputError(db + ": " + e.what());
  }
  std::filesystem::create_directories(out);
  const std::string path = (std::filesystem::path(out) / "analytics.json").string();
  write_file_atomic(path, report.dump(1) + "\n");
  long viewers = 0;
  for (const auto& s : report["stories"]) viewers += s["viewers"].get<long>();
  long bad = 0;
  for (const auto& [k, v] : report["anomalies"].items()) bad += v.get<long>();
  std::cout << "wrote " << path << ": " << report["stories"].size() << " stories, " << viewers << " viewers, "
            << report["choices"] << " choices, " << bad << " bad events skipped\n"
            << "charts: python3 scripts/plot_analytics.py " << out << "\n";
  return 0;
}

}  // namespace plotforge::programs
