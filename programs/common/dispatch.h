// The one front end of both programs: a table of commands, `PROGRAM help`,
// and the mapping from what a command throws to an exit status:
//   0 done, 1 input a user can fix (InputError), 2 a bad command line
//   (unknown command or option), 3 an internal error (a bug: please report).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "programs/common/options.h"

namespace plotforge::programs {

struct Command {
  std::string name;     // "train"
  std::string summary;  // one line for the command list
  std::function<int(const Args&)> run;
  // Whether it runs matrix products through OpenBLAS (libtorch's or the
  // runtime's): those commands first make sure OpenBLAS runs the kernels
  // for this CPU, which may cost a re-exec (programs/common/blas_kernels.h);
  // the others start without it.
  bool blas = true;
};

// Runs argv[1] with the rest of argv; `about` heads the help text.
int dispatch(const std::string& program, const std::string& about, const std::vector<Command>& commands, int argc,
             char** argv);

}  // namespace plotforge::programs
