// The plotforge subcommands. Each parses its own options (Boost.Program_options),
// reads an optional --config INI file whose keys are the long option names
// (the command line wins), and returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace plotforge::cli {

namespace po = boost::program_options;

using Args = std::vector<std::string>;

int cmd_inspect(const Args& args);
int cmd_tokenizer(const Args& args);
int cmd_prepare(const Args& args);
int cmd_train(const Args& args);
int cmd_generate(const Args& args);
int cmd_export(const Args& args);
int cmd_vae(const Args& args);
int cmd_eval(const Args& args);

// Parses args against `options` (plus --help and --config). Returns false if
// --help was given (usage already printed). Throws po::error on bad options.
bool parse_options(const std::string& usage, po::options_description& options, const Args& args,
                   po::variables_map* vm, po::positional_options_description* positional = nullptr);

}  // namespace plotforge::cli
