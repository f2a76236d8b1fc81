// The plotforge-run commands, one file each (the runtime: no libtorch).
#pragma once

#include "programs/common/options.h"

namespace plotforge::programs {

int cmd_generate(const Args& args);
int cmd_bench(const Args& args);
int cmd_serve(const Args& args);
int cmd_analytics(const Args& args);
int cmd_tokenize(const Args& args);

}  // namespace plotforge::programs
