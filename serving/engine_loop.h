// The engine thread: the one thread that owns the scheduler (and through it
// the engine, the KV cache and the prefix cache) and steps it while there
// is work, so concurrent HTTP requests decode in one batch and share one
// prefix cache. HTTP handlers submit requests and wait on them for tokens,
// as they are sampled; the engine thread never waits on a client.
//
// Bounded: at most max_queue requests wait for admission (submit() refuses
// beyond that, for a 429), and the scheduler admits only what fits in the KV
// cache. A cancelled request (its client went away) leaves the batch at the
// engine thread's next turn, before the next step, and frees its blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "inference/prefix_cache.h"
#include "inference/scheduler.h"
#include "serving/metrics.h"

namespace plotforge::serving {

using Clock = std::chrono::steady_clock;

// What a request produced since the handler last looked.
struct Progress {
  std::vector<runtime::SchedulerEvent> tokens;  // kToken events, in order
  bool finished = false;
  std::vector<Completion> completions;  // when finished: one per branch
  std::string error;                    // when the engine failed it (finish reasons "abort")
};

class EngineLoop;

// One prompt's request, shared by its HTTP handler and the engine thread.
class Request {
 public:
  // Waits up to `timeout` for new tokens or the end, and takes them.
  Progress wait(std::chrono::milliseconds timeout);
  // Asks the engine thread to end the request (finish reason "abort").
  void cancel();
  int prompt_tokens() const { return prompt_tokens_; }
  // Seconds from arrival to the first token; negative before it.
  double ttft() const { return ttft_.load(); }

 private:
  friend class EngineLoop;
  EngineLoop* loop_ = nullptr;
  std::vector<int> prompt_;
  SamplingParams params_;
  std::shared_ptr<const runtime::Adapter> adapter_;
  int prompt_tokens_ = 0;
  Clock::time_point arrival_;
  std::atomic<double> ttft_{-1};
  std::atomic<bool> cancel_{false};
  std::mutex m_;
  std::condition_variable cv_;
  Progress pending_;
  // Engine thread only.
  bool admitted_ = false;
  std::vector<Clock::time_point> last_token_;  // per branch
};

struct EngineLoopOptions {
  int max_queue = 128;  // requests waiting for admission
  runtime::SchedulerOptions scheduler;
  double stall_seconds = 30;  // /health reports a step running longer as stuck
  bool prefix_cache = true;   // off: every prompt is computed in full (benchmarks)
};

class EngineLoop {
 public:
  EngineLoop(runtime::Engine& engine, const EngineLoopOptions& options, Metrics& metrics);
  ~EngineLoop();  // stops the thread; requests still running end with "abort"

  // Queues one request per prompt, all or none. Throws ApiError 429 when the
  // queue cannot take them, 503 while draining, and InputError (400) for an
  // invalid request (Scheduler::check). `arrival` starts the clocks. With
  // `adapter`, the requests run with that LoRA adapter (inference/adapter.h).
  std::vector<std::shared_ptr<Request>> submit(const std::vector<std::vector<int>>& prompts,
                                               const SamplingParams& params, Clock::time_point arrival,
                                               std::shared_ptr<const runtime::Adapter> adapter = nullptr);
  // "" while the engine thread is turning; otherwise why it is not.
  std::string health() const;
  // Stops taking requests, lets the running and waiting ones finish until
  // `deadline`, then cancels the rest (finish reason "abort"); returns when
  // no request is left.
  void drain(Clock::time_point deadline);

 private:
  friend class Request;
  void run();
  void wake();
  void dispatch();
  void publish_gauges();

  runtime::Engine& engine_;
  runtime::PrefixCache cache_;
  runtime::Scheduler scheduler_;
  EngineLoopOptions o_;
  Metrics& metrics_;

  mutable std::mutex m_;
  std::condition_variable cv_;    // the engine thread waits on it for work
  std::condition_variable idle_;  // drain() waits on it
  std::vector<std::shared_ptr<Request>> inbox_;
  int waiting_ = 0;  // inbox plus the scheduler's queue
  int active_count_ = 0;
  bool stop_ = false, draining_ = false;
  bool stepping_ = false;
  Clock::time_point step_started_, heartbeat_;
  std::string failure_;  // why the engine thread stopped, when it did

  std::map<int, std::shared_ptr<Request>> active_;  // engine thread only: scheduler id -> request
  std::thread thread_;
};

}  // namespace plotforge::serving
