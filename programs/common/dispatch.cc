#include "programs/common/dispatch.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

#include "base/cpu_features.h"
#include "base/error.h"
#include "programs/common/blas_kernels.h"

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
  out += "  " + std::string("system").append(16, ' ') +
         "the CPU's features, cores, memory and BLAS kernels this program uses\n";
  out += "  " + std::string("help").append(18, ' ') + "this text\n";
  return out;
}

void print_system() {
  std::printf("cpu: %s\n", cpu_features().summary().c_str());
  std::printf("cores: %u\n", std::thread::hardware_concurrency());
  const std::int64_t available = available_memory_bytes();
  if (available >= 0) std::printf("memory available: %.1f GiB\n", available / 1073741824.0);
  std::printf("blas: %s\n", blas_kernels_note().c_str());
}

}  // namespace

int dispatch(const std::string& program, const std::string& about, const std::vector<Command>& commands, int argc,
             char** argv) {
  if (argc >= 2) {
    const std::string name = argv[1];
    bool blas = name == "system";
    for (const Command& c : commands) blas = blas || (c.name == name && c.blas);
    if (blas) correct_blas_kernels(argv);  // first: it may execute the program again
  }
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
    if (cmd == "system") {
      print_system();
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
