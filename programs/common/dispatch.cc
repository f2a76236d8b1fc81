#include "programs/common/dispatch.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "base/error.h"

namespace plotforge::programs {

namespace {

std::string help_text(const std::string& program, const std::string& about, const std::vector<Command>& commands) {
  std::string out = program + ": " + about + "\n\nusage: " + program + " COMMAND [options]        " + program +
                    " COMMAND --help\n\ncommands:\n";
  for (const Command& c : commands) {
    std::string name = c.name;
    name.resize(std::max<std::size_t>(name.size() + 2, 22), ' ');
    out += "  " + name + c.summary + "\n";
  }
  out += "  " + std::string("help").append(18, ' ') + "this text\n";
  return out;
}

}  // namespace

int dispatch(const std::string& program, const std::string& about, const std::vector<Command>& commands, int argc,
             char** argv) {
  const std::string help = help_text(program, about, commands);
  if (argc < 2) {
    std::fputs(help.c_str(), stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  const Args args(argv + 2, argv + argc);
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(help.c_str(), stdout);
      return 0;
    }
    for (const Command& c : commands) {
      if (c.name == cmd) return c.run(args);
    }
    std::fprintf(stderr, "%s: unknown command '%s'; run '%s help' for the list\n", program.c_str(), cmd.c_str(),
                 program.c_str());
    return 2;
  } catch (const po::error& e) {
    std::fprintf(stderr, "%s %s: %s; run '%s %s --help'\n", program.c_str(), cmd.c_str(), e.what(), program.c_str(),
                 cmd.c_str());
    return 2;
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s %s: error: %s\n", program.c_str(), cmd.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s %s: internal error: %s\n", program.c_str(), cmd.c_str(), e.what());
    return 3;
  }
}

}  // namespace plotforge::programs
