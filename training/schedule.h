// Learning-rate schedule: linear warmup, then cosine decay to a floor
// (nanoGPT's get_lr, with the same off-by-one conventions).
#pragma once

#include <cmath>

namespace plotforge {

struct LrSchedule {
  double max_lr = 1e-3, min_lr = 1e-4;
  long warmup_steps = 100, decay_steps = 2000;

  double at(long step) const {
    if (step < warmup_steps) return max_lr * (step + 1) / (warmup_steps + 1);
    if (step >= decay_steps) return min_lr;
    const double ratio = static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps - warmup_steps);
    const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));
    return min_lr + coeff * (max_lr - min_lr);
  }
};

}  // namespace plotforge
