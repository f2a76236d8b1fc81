// plotforge-run bench: the runtime's speed on one bundle, with the memory
// bandwidth measured in the same run as the roofline for decoding.
#pragma once

#include <string>
#include <vector>

namespace plotforge::runtime {

struct BenchOptions {
  std::string bundle;
  std::vector<int> batch_sizes = {1, 8, 32};
  int decode_tokens = 64, prompt_tokens = 128;
  int sessions = 4, branches = 10, prefix_tokens = 192, branch_tokens = 16;
  int repeats = 5;  // branching workload runs, alternating sharing off and on; medians reported
  int cache_blocks = 8192;
  std::string device = "cpu";
};

// Prints a report on stdout; returns 0.
int run_bench(const BenchOptions& o);

}  // namespace plotforge::runtime
