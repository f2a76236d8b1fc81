// The plotforge commands, one file each. Each parses its own options
// (programs/common/options.h) and returns the process exit status; main.cc
// lists them for the shared dispatcher.
#pragma once

#include "base/cpu_features.h"
#include "programs/common/options.h"

namespace plotforge::programs {

int cmd_inspect(const Args& args);
int cmd_tokenizer(const Args& args);
int cmd_prepare(const Args& args);
int cmd_train(const Args& args);
int cmd_generate(const Args& args);
int cmd_export(const Args& args);
int cmd_import(const Args& args);
int cmd_vae(const Args& args);
int cmd_eval(const Args& args);
int cmd_sentiment(const Args& args);
int cmd_arcs(const Args& args);
int cmd_recommend(const Args& args);

inline int default_threads() { return usable_cores(); }

}  // namespace plotforge::programs
