// Helpers shared by the integration tests: temp dirs, real subprocesses,
// and a tokenizer trained once on the bundled sample corpus.
#pragma once

#include <string>
#include <vector>

namespace plotforge::testing {

std::string sample_dir();      // data/sample in the source tree
std::string shared_corpora();  // ../shared/corpora
std::string plotforge_bin();   // the built plotforge executable

// A fresh directory under the build tree, removed at exit.
std::string temp_dir(const std::string& name);

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};
RunResult run(const std::string& command);
// Like run(), but with stderr discarded: output is stdout alone.
RunResult run_stdout(const std::string& command);

// The first of python3 and Debian's /usr/bin/python3 that imports every
// module in `modules` (comma-separated, as in an import statement), or ""
// when neither does. The CI machine's torch is Debian's (/usr/bin/python3,
// with transformers from PyPI: scripts/setup.sh); the GPU machine's is in
// its python3.
std::string python_with(const std::string& modules);

// The sample corpus prepared through the real CLI (tokenizer train + prepare
// --val-fraction 0.3) with a bpe tokenizer (the default) of `vocab_size` pieces; made
// once per process and size. Returns the corpus path; the tokenizer sits
// beside it as tok.model. Throws with the CLI's output on failure.
std::string prepared_sample_corpus(int vocab_size);

// Trains (once per process) a tokenizer (the default type, bpe) on the sample corpus.
const std::string& sample_tokenizer();

void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);  // "" if unreadable

}  // namespace plotforge::testing
