#include "tests/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "datasets/documents.h"
#include "datasets/tokenizer.h"

namespace plotforge::testing {

std::string sample_dir() { return std::string(PLOTFORGE_SOURCE_DIR) + "/data/sample"; }
std::string shared_corpora() { return PLOTFORGE_SHARED_CORPORA; }
std::string plotforge_bin() { return std::string(PLOTFORGE_BINARY_DIR) + "/bin/plotforge"; }

// CTest runs each test in its own process, several at once: every process
// gets its own directory, removed when it exits.
static std::filesystem::path process_dir() {
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::path(PLOTFORGE_BINARY_DIR) / "test-tmp" / std::to_string(::getpid());
    std::filesystem::remove_all(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::path(PLOTFORGE_BINARY_DIR) / "test-tmp" / std::to_string(::getpid()),
                                  ec);
    });
    return d;
  }();
  return dir;
}

std::string temp_dir(const std::string& name) {
  const auto p = process_dir() / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

RunResult run(const std::string& command) {
  RunResult r{-1, ""};
  FILE* f = popen((command + " 2>&1").c_str(), "r");
  if (!f) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.output.append(buf, n);
  const int status = pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string python_with(const std::string& modules) {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    if (run(std::string(py) + " -c 'import " + modules + "'").exit_code == 0) return py;
  }
  return "";
}

RunResult run_stdout(const std::string& command) { return run("{ { " + command + "; } 2>/dev/null; }"); }

std::string prepared_sample_corpus(int vocab_size) {
  static std::map<int, std::string> made;
  if (made.count(vocab_size)) return made[vocab_size];
  const std::string dir = temp_dir("sample-corpus-" + std::to_string(vocab_size));
  auto r = run(plotforge_bin() + " tokenizer train --input " + sample_dir() + " --out " + dir +
               "/tok.model --vocab-size " + std::to_string(vocab_size));
  if (r.exit_code != 0) throw std::runtime_error(r.output);
  r = run(plotforge_bin() + " prepare --quiet --val-fraction 0.3 --input " + sample_dir() + " --tokenizer " + dir +
          "/tok.model --out " + dir + "/c.h5");
  if (r.exit_code != 0) throw std::runtime_error(r.output);
  return made[vocab_size] = dir + "/c.h5";
}

const std::string& sample_tokenizer() {
  static const std::string path = [] {
    const std::string dir = temp_dir("sample-tokenizer");
    TokenizerTrainOptions o;
    o.out = dir + "/tok.model";
    o.vocab_size = 2000;
    Tokenizer::train(o, read_documents(sample_dir()));
    return o.out;
  }();
  return path;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace plotforge::testing
