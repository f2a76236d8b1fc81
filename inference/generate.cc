#include "inference/generate.h"

#include "inference/scheduler.h"

namespace plotforge::runtime {

std::vector<Completion> generate(Engine& engine, const std::vector<int>& prompt, const SamplingParams& p,
                                 int prefill_chunk, std::shared_ptr<const LatentCondition> latent,
                                 std::shared_ptr<const Adapter> adapter) {
  SchedulerOptions o;
  o.prefill_chunk = prefill_chunk;
  Scheduler scheduler(engine, nullptr, o);
  scheduler.submit(prompt, p, std::move(latent), std::move(adapter));
  while (!scheduler.idle()) scheduler.step();
  return scheduler.take_finished().at(0).completions;
}

}  // namespace plotforge::runtime
