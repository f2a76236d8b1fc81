// plotforge: the toolkit's command-line front end.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "cli/command.h"
#include "datasets/error.h"

namespace plotforge::cli {

bool parse_options(const std::string& usage, po::options_description& options, const Args& args,
                   po::variables_map* vm, po::positional_options_description* positional) {
  po::options_description common("Common options");
  common.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "INI file of options (keys are the long option names)");
  po::options_description all;
  all.add(options).add(common);
  po::command_line_parser parser(args);
  parser.options(all);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), *vm);
  if (vm->count("help")) {
    std::cout << usage << "\n\n" << all << "\n";
    return false;
  }
  if (vm->count("config")) {
    const std::string path = (*vm)["config"].as<std::string>();
    std::ifstream in(path);
    if (!in) throw InputError(path + ": cannot open config file");
    try {
      // allow_unregistered: one INI file can configure several commands.
      po::store(po::parse_config_file(in, options, true), *vm);
    } catch (const po::error& e) {
      throw InputError(path + ": " + e.what());
    }
  }
  po::notify(*vm);
  return true;
}

namespace {

constexpr const char* kHelp = R"(plotforge: train and serve plot-generation models on annotated scripts

usage: plotforge COMMAND [options]        plotforge COMMAND --help

commands:
  inspect FILE           summarize a script (Fountain, text or JSONL); --json for JSON
  tokenizer train        train a SentencePiece tokenizer with the control tokens
  prepare                tokenize scripts into an HDF5 corpus with splits and labels
  train                  train a generator (configs/*.ini): --kind transformer | vae | gan | classifier
  generate               write scenes from a checkpoint, conditioned on genre/beat/emotion
  export                 write a Hugging Face-compatible bundle (safetensors + config.json)
  vae                    sample (from the prior or a latent GAN, steered), reconstruct, interpolate scenes
  eval                   perplexity, BLEU, Self-BLEU, distinct-n, repetition, adherence of the generators
  help                   this text
)";

}  // namespace
}  // namespace plotforge::cli

int main(int argc, char** argv) {
  using namespace plotforge::cli;
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  const Args args(argv + 2, argv + argc);
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (cmd == "inspect") return cmd_inspect(args);
    if (cmd == "tokenizer") return cmd_tokenizer(args);
    if (cmd == "prepare") return cmd_prepare(args);
    if (cmd == "train") return cmd_train(args);
    if (cmd == "generate") return cmd_generate(args);
    if (cmd == "export") return cmd_export(args);
    if (cmd == "vae") return cmd_vae(args);
    if (cmd == "eval") return cmd_eval(args);
    std::fprintf(stderr, "plotforge: unknown command '%s'; run 'plotforge help' for the list\n", cmd.c_str());
    return 2;
  } catch (const po::error& e) {
    std::fprintf(stderr, "plotforge %s: %s; run 'plotforge %s --help'\n", cmd.c_str(), e.what(), cmd.c_str());
    return 2;
  } catch (const plotforge::InputError& e) {
    std::fprintf(stderr, "plotforge %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plotforge %s: internal error: %s\n", cmd.c_str(), e.what());
    return 3;
  }
}
