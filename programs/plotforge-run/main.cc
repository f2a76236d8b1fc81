// plotforge-run: the lean runtime for exported bundles (no libtorch).
#include "programs/common/dispatch.h"
#include "programs/plotforge-run/commands.h"

int main(int argc, char** argv) {
  using namespace plotforge::programs;
  const std::vector<Command> commands = {
      {"generate", "write scenes from a bundle (plotforge export), batched branches sharing the prompt's KV cache",
       cmd_generate},
      {"bench",
       "prefill and decode speed over batch sizes against the measured memory bandwidth, and a branching "
       "workload with and without prefix sharing",
       cmd_bench},
      {"serve",
       "an OpenAI-compatible HTTP server (completions, streaming, metrics) batching every request on one engine",
       cmd_serve},
      {"analytics",
       "the audience report of a stories database: visits, choice shares, drop-off, paths, preferences (JSON)",
       cmd_analytics},
      {"tokenize", "a text's token ids under a bundle's tokenizer (as transformers and llama.cpp give them)",
       cmd_tokenize},
  };
  return dispatch("plotforge-run", "the lean runtime for exported plotforge bundles (no libtorch)", commands, argc,
                  argv);
}
