#include "programs/common/options.h"

#include <fstream>
#include <iostream>

#include "base/error.h"

namespace plotforge::programs {

bool parse_options(const std::string& usage, po::options_description& options, const Args& args, po::variables_map* vm,
                   po::positional_options_description* positional) {
  po::options_description common("Common options");
  common.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                   "INI file of options (keys are the long option names)");
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

}  // namespace plotforge::programs
