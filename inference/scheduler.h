// Continuous batching. Requests wait in a bounded queue; each step() is one
// engine forward over every running branch's next token plus prefill chunks
// of newly admitted prompts (long prompts are prefilled a chunk per step, so
// decoding never stalls behind them). A request's n branches fork from its
// prefilled prompt and share its KV blocks. With a prefix cache, admitted
// prompts first reuse cached blocks, and finished sequences leave theirs
// behind for later requests.
//
// Admission is bounded by the KV cache: a request is admitted only when the
// blocks it could need at worst (its prompt, plus each branch's own blocks up
// to max_new_tokens or the context) fit beside those of the requests already
// running, so a step never runs out of cache; blocks the prefix cache holds
// for no running sequence are evicted on demand and do not count.
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
  std::vector<Completion> completions;  // finish reason "abort" for a cancelled request
};

// What a step did, for callers that stream: a request left the queue, or a
// branch produced a token (EOS and stop tokens are not reported).
struct SchedulerEvent {
  enum Kind { kAdmitted, kToken } kind;
  int id;
  int branch = 0;
  int token = -1;
  float logprob = 0;                       // with params.logprobs
  std::vector<std::pair<int, float>> top;  // with params.top_logprobs
};

class Scheduler {
 public:
  Scheduler(Engine& engine, PrefixCache* cache, const SchedulerOptions& options);
  ~Scheduler();
  // The request's id, or -1 when the queue is full. Throws InputError for
  // an invalid request (empty prompt, prompt not shorter than the context,
  // bad sampling values).
  // With `latent` (a VAE bundle's Model::condition), every branch decodes
  // under it; with `adapter` (inference/adapter.h), with that LoRA
  // adapter. Such requests bypass the prefix cache.
  int submit(std::vector<int> prompt, const SamplingParams& params,
             std::shared_ptr<const LatentCondition> latent = nullptr, std::shared_ptr<const Adapter> adapter = nullptr);
  // The checks submit() makes before queueing (it throws the same errors),
  // including that the request's worst-case KV blocks fit in the whole
  // cache; returns those blocks. Reads only the model and the pool's size:
  // safe from any thread.
  int check(const std::vector<int>& prompt, const SamplingParams& params) const;
  void step();
  // Ends a queued or running request now: its blocks go back to the pool
  // and it finishes with what it generated so far, finish reason "abort".
  // False for an id that is not queued or running.
  bool cancel(int id);
  bool idle() const { return queue_.empty() && running_.empty(); }
  int waiting() const { return static_cast<int>(queue_.size()); }
  int running() const { return static_cast<int>(running_.size()); }
  std::vector<Finished> take_finished();
  std::vector<SchedulerEvent> take_events();

  std::uint64_t prefill_tokens() const { return prefill_tokens_; }  // computed, not reused
  std::uint64_t decode_tokens() const { return decode_tokens_; }

 private:
  struct Branch;
  struct Active;
  void finish_prefill(Active& a, const float* logits);
  // Samples the branch's next token from logits; false when it is done.
  bool advance(Active& a, Branch& b, const float* logits);
  // Blocks the request could hold at worst.
  int worst_case_blocks(int prompt_tokens, const SamplingParams& params) const;
  void release(Active& a);

  Engine& engine_;
  PrefixCache* cache_;
  SchedulerOptions o_;
  int next_id_ = 0;
  std::deque<std::unique_ptr<Active>> queue_;
  std::vector<std::unique_ptr<Active>> running_;
  std::vector<Finished> finished_;
  std::vector<SchedulerEvent> events_;
  int reserved_blocks_ = 0;  // worst_case_blocks of the running requests
  std::uint64_t prefill_tokens_ = 0, decode_tokens_ = 0;
};

}  // namespace plotforge::runtime
