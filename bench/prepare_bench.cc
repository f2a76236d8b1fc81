// prepare throughput against SentencePiece's own spm_encode, side by side.
//
// usage: prepare_bench TOKENIZER INPUT...   (spm_encode must be on PATH)
//
// Both sides tokenize the same canonical text, line by line, with the same
// model. spm_encode runs as a process on a file of that text (its model load
// and process start included, as a user would run it); ours runs in-process
// through tokenize_corpus() at 1 and 2 threads, and the whole prepare command
// (read + parse + tokenize + HDF5 write) at 1 and 2 threads. Medians of 5.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "datasets/corpus.h"
#include "datasets/prepare.h"

using namespace plotforge;

static double median_seconds(const std::function<void()>& f, int reps = 5) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: prepare_bench TOKENIZER INPUT...\n");
    return 2;
  }
  const std::string tok_path = argv[1];
  const std::vector<std::string> inputs(argv + 2, argv + argc);
  const Tokenizer tok = Tokenizer::load(tok_path);
  std::vector<Document> docs;
  for (const auto& in : inputs) {
    for (auto& d : read_documents(in)) docs.push_back(std::move(d));
  }
  const auto split = assign_splits(docs, 0.1);
  const std::string dir = std::filesystem::temp_directory_path() / "plotforge-prepare-bench";
  std::filesystem::create_directories(dir);
  const std::string text_path = dir + "/canonical.txt";
  std::size_t bytes = 0;
  {
    std::ofstream out(text_path, std::ios::binary);
    for (const auto& [d, s] : split) {
      out << d.text;
      bytes += d.text.size();
    }
  }
  const double mb = bytes / 1e6;
  const std::string spm = "spm_encode --model=" + tok_path + " --output_format=id < " + text_path + " > /dev/null";
  const double t_spm = median_seconds([&] {
    if (std::system(spm.c_str()) != 0) {
      std::fprintf(stderr, "spm_encode failed; install the Debian package sentencepiece\n");
      std::exit(1);
    }
  });
  PrepareOptions o;
  o.quiet = true;
  double t_tok[3], t_prep[3];
  for (int th : {1, 2}) {
    o.threads = th;
    t_tok[th] = median_seconds([&] { (void)tokenize_corpus(split, tok, o); });
    t_prep[th] = median_seconds([&] { prepare_corpus(inputs, tok_path, dir + "/c.h5", o); });
  }
  std::printf("canonical text: %.2f MB, %zu documents\n", mb, docs.size());
  std::printf("%-34s %9s %9s %9s\n", "what", "seconds", "MB/s", "vs spm");
  std::printf("%-34s %9.3f %9.2f %9.2f\n", "spm_encode (1 thread, process)", t_spm, mb / t_spm, 1.0);
  for (int th : {1, 2}) {
    std::printf("tokenize_corpus, %d thread%s        %9.3f %9.2f %9.2f\n", th, th == 1 ? " " : "s", t_tok[th],
                mb / t_tok[th], t_spm / t_tok[th]);
  }
  for (int th : {1, 2}) {
    std::printf("prepare end to end, %d thread%s     %9.3f %9.2f %9.2f\n", th, th == 1 ? " " : "s", t_prep[th],
                mb / t_prep[th], t_spm / t_prep[th]);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
