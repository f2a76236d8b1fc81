// Continuous batching. Requests wait in a bounded queue; each step() is one
// engine forward over every running branch's next token plus prefill chunks
// of newly admitted prompts (long prompts are prefilled a chunk per step, so
// decoding never stalls behind them). A request's n branches fork from its
// prefilled prompt and share its KV blocks. With a prefix cache, admitted
// prompts first reuse cached blocks, and finished sequences leave theirs
// behind for later requests.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "inference/engine.h"
#include "inference/generate.h"
#include "inference/prefix_cache.h"
#include "models/sampling.h"

namespace plotforge::runtime {

struct SchedulerOptions {
  int max_queue = 1024;        // submit() refuses beyond this
  int max_running = 64;        // requests decoding or prefilling at once
  int prefill_chunk = 256;     // prompt tokens per request per step
  int max_step_tokens = 1024;  // prefill tokens per step, all requests together
};

struct Finished {
  int id;
  std::vector<Completion> completions;
};

class Scheduler {
 public:
  Scheduler(Engine& engine, PrefixCache* cache, const SchedulerOptions& options);
  ~Scheduler();
  // The request's id, or -1 when the queue is full. Throws InputError for
  // an invalid request (empty prompt, prompt not shorter than the context,
  // bad sampling values).
  // With `latent` (a VAE bundle's Model::condition), every branch decodes
  // under it; such requests bypass the prefix cache.
  int submit(std::vector<int> prompt, const SamplingParams& params,
             std::shared_ptr<const LatentCondition> latent = nullptr);
  void step();
  bool idle() const { return queue_.empty() && running_.empty(); }
  std::vector<Finished> take_finished();

  std::uint64_t prefill_tokens() const { return prefill_tokens_; }  // computed, not reused
  std::uint64_t decode_tokens() const { return decode_tokens_; }

 private:
  struct Branch;
  struct Active;
  void finish_prefill(Active& a, const float* logits);
  // Samples the branch's next token from logits; false when it is done.
  bool advance(Active& a, Branch& b, const float* logits);

  Engine& engine_;
  PrefixCache* cache_;
  SchedulerOptions o_;
  int next_id_ = 0;
  std::deque<std::unique_ptr<Active>> queue_;
  std::vector<std::unique_ptr<Active>> running_;
  std::vector<Finished> finished_;
  std::uint64_t prefill_tokens_ = 0, decode_tokens_ = 0;
};

}  // namespace plotforge::runtime
