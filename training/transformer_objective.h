// The Transformer's objective: next-token cross-entropy on token windows of
// the corpus (datasets/loader.h's TokenWindowLoader), trained by the shared
// loop (training/trainer.h).
#pragma once

#include "training/settings.h"
#include "training/trainer.h"

namespace plotforge {

TrainResult train(const TrainOptions& options);

}  // namespace plotforge
