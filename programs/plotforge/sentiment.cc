// plotforge sentiment: VADER's compound score for every dialogue line of
// scripts (emotion/vader.h), as text or JSON; with --threads, scored in
// parallel (the benchmark's way: bench/sentiment_cpu.sh).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/files.h"
#include "datasets/fountain.h"
#include "emotion/emolex.h"
#include "emotion/vader.h"
#include "programs/plotforge/commands.h"
#include "programs/plotforge/lexicons.h"

namespace plotforge::programs {

namespace {
struct DialogueLine {
  std::string file;
  int line;
  std::string text;
};
}  // namespace

int cmd_sentiment(const Args& args) {
  po::options_description o("plotforge sentiment");
  o.add_options()("files", po::value<std::vector<std::string>>()->composing(), "Fountain scripts")(
      "json", po::bool_switch(), "print a JSON array of {file, line, text, compound, pos, neu, neg}")(
      "quiet", po::bool_switch(), "print only the count and speed (benchmarks)")(
      "threads", po::value<int>()->default_value(1), "scoring threads")(
      "lines", po::bool_switch(), "read the files as plain text, one line to score per line (not Fountain)");
  add_lexicon_options(o);
  po::positional_options_description pos;
  pos.add("files", -1);
  po::variables_map vm;
  if (!parse_options("usage: plotforge sentiment [--json] [--threads N] [--lines] FILE...", o, args, &vm, &pos)) {
    return 0;
  }
  if (!vm.count("files")) throw InputError("give one or more Fountain files");
  const int threads = vm["threads"].as<int>();
  if (threads < 1 || threads > 256) throw InputError("--threads: must be in [1, 256]");
  const Lexicons lexicons(vm);
  const emotion::Vader& vader = lexicons.vader();
  const emotion::EmotionLexicon* emolex = lexicons.emotions();

  std::vector<DialogueLine> lines;
  for (const auto& f : vm["files"].as<std::vector<std::string>>()) {
    if (vm["lines"].as<bool>()) {
      const std::string text = read_file(f);
      std::size_t start = 0;
      for (int k = 1; start < text.size(); ++k) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        lines.push_back({f, k, text.substr(start, end - start)});
        start = end + 1;
      }
      continue;
    }
    for (const Element& e : read_fountain_file(f).elements) {
      if (e.type != ElementType::kDialogue) continue;
      std::size_t start = 0;
      for (int k = 0; start <= e.text.size(); ++k) {
        const std::size_t end = std::min(e.text.find('\n', start), e.text.size());
        const std::string text = e.text.substr(start, end - start);
        if (!text.empty()) lines.push_back({f, e.line + k, text});
        start = end + 1;
      }
    }
  }
  std::vector<emotion::Polarity> scores(lines.size());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = t; i < lines.size(); i += threads) scores[i] = vader.score(lines[i].text);
    });
  }
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "plotforge sentiment: %zu dialogue lines in %.3f s (%.0f lines/s, %d thread%s)\n", lines.size(),
               s, s > 0 ? lines.size() / s : 0.0, threads, threads == 1 ? "" : "s");
  if (vm["quiet"].as<bool>()) return 0;
  if (vm["json"].as<bool>()) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      nlohmann::json row = {
          {"file", lines[i].file}, {"line", lines[i].line}, {"text", lines[i].text}, {"compound", scores[i].compound},
          {"pos", scores[i].pos},  {"neu", scores[i].neu},  {"neg", scores[i].neg}};
      if (emolex) {
        const emotion::EmotionCounts c = emolex->count(lines[i].text);
        nlohmann::json counts = nlohmann::json::object();
        for (std::size_t k = 0; k < emotion::kPlutchik.size(); ++k) counts[emotion::kPlutchik[k]] = c.plutchik[k];
        counts["positive"] = c.positive;
        counts["negative"] = c.negative;
        row["emotion"] = c.dominant();
        row["emotions"] = counts;
      }
      out.push_back(std::move(row));
    }
    std::cout << out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string emotion = emolex ? "\t" + emolex->count(lines[i].text).dominant() : "";
      std::printf("%s:%d\t%+.4f%s\t%s\n", lines[i].file.c_str(), lines[i].line, scores[i].compound, emotion.c_str(),
                  lines[i].text.c_str());
    }
  }
  return 0;
}

}  // namespace plotforge::programs
