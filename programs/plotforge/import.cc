// plotforge import: a Hugging Face Llama model -> a plotforge run directory.
#include "training/import.h"

#include <iostream>

#include "base/files.h"
#include "programs/plotforge/commands.h"

namespace plotforge::programs {

int cmd_import(const Args& args) {
  po::options_description o("plotforge import");
  o.add_options()("from", po::value<std::string>()->required(),
                  "Hugging Face model directory (config.json, model*.safetensors, tokenizer.model)")(
      "out", po::value<std::string>()->required(), "run directory to write")(
      "genres", po::value<std::string>()->default_value(""),
      "comma-separated genres to add <genre=G> control tokens for (the corpus's genres)")(
      "context", po::value<int>()->default_value(0), "context length to train with (0: max_position_embeddings)");
  po::variables_map vm;
  if (!parse_options("usage: plotforge import --from HF_DIR --out RUN [--genres comedy,tragedy] [--context N]\n"
                     "Reads a LlamaForCausalLM directory into a run that train --init-from, generate, eval and\n"
                     "export accept; plotforge's control tokens are added to the vocabulary (docs/finetuning.md).",
                     o, args, &vm)) {
    return 0;
  }
  ImportOptions io;
  io.from = vm["from"].as<std::string>();
  io.out = vm["out"].as<std::string>();
  io.genres = split_list(vm["genres"].as<std::string>());
  io.context = vm["context"].as<int>();
  const ImportResult r = import_hf_llama(io);
  std::cout << "imported " << io.from << " into " << r.checkpoint << ": " << r.parameters / 1e6
            << "M parameters, vocabulary " << r.vocab_before << " + " << (r.vocab_after - r.vocab_before)
            << " plotforge pieces\n";
  return 0;
}

}  // namespace plotforge::programs
