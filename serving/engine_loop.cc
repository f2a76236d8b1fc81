#include "serving/engine_loop.h"

#include <cstdio>

#include "serving/api_error.h"

namespace plotforge::serving {

namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Progress Request::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(m_);
  cv_.wait_for(l, timeout, [&] { return pending_.finished || !pending_.tokens.empty(); });
  Progress out;
  std::swap(out, pending_);
  pending_.finished = out.finished;  // stays finished; later waits return at once
  return out;
}

void Request::cancel() {
  cancel_ = true;
  if (loop_) loop_->wake();
}

EngineLoop::EngineLoop(runtime::Engine& engine, const EngineLoopOptions& options, Metrics& metrics)
    : engine_(engine),
      cache_(engine.pool()),
      scheduler_(engine, options.prefix_cache ? &cache_ : nullptr,
                 [&] {
                   runtime::SchedulerOptions s = options.scheduler;
                   s.max_queue = options.max_queue;  // the loop bounds the queue itself
                   return s;
                 }()),
      o_(options),
      metrics_(metrics) {
  heartbeat_ = Clock::now();
  publish_gauges();
  thread_ = std::thread([this] { run(); });
}

EngineLoop::~EngineLoop() {
  {
    std::lock_guard<std::mutex> l(m_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EngineLoop::wake() {
  { std::lock_guard<std::mutex> l(m_); }
  cv_.notify_all();
}

std::vector<std::shared_ptr<Request>> EngineLoop::submit(const std::vector<std::vector<int>>& prompts,
                                                         const SamplingParams& params, Clock::time_point arrival,
                                                         std::shared_ptr<const runtime::Adapter> adapter) {
  for (const auto& p : prompts) scheduler_.check(p, params);
  std::vector<std::shared_ptr<Request>> out;
  for (const auto& p : prompts) {
    auto r = std::make_shared<Request>();
    r->loop_ = this;
    r->prompt_ = p;
    r->params_ = params;
    r->adapter_ = adapter;
    r->prompt_tokens_ = static_cast<int>(p.size());
    r->arrival_ = arrival;
    r->last_token_.assign(params.n, arrival);
    out.push_back(std::move(r));
  }
  {
    std::lock_guard<std::mutex> l(m_);
    if (draining_ || stop_) throw ApiError(503, "the server is shutting down; retry on another replica or later");
    if (!failure_.empty()) throw ApiError(503, "the engine has stopped: " + failure_);
    const int n = static_cast<int>(prompts.size());
    if (waiting_ + n > o_.max_queue) {
      throw ApiError(429,
                     "the server is busy: " + std::to_string(waiting_) + " requests are waiting (--max-queue " +
                         std::to_string(o_.max_queue) + "); retry after the Retry-After delay",
                     "", "queue_full");
    }
    waiting_ += n;
    active_count_ += n;
    inbox_.insert(inbox_.end(), out.begin(), out.end());
  }
  cv_.notify_all();
  return out;
}

std::string EngineLoop::health() const {
  std::lock_guard<std::mutex> l(m_);
  const auto now = Clock::now();
  if (!failure_.empty()) return "the engine thread stopped: " + failure_;
  if (draining_) return "shutting down";
  if (stepping_ && seconds(now - step_started_) > o_.stall_seconds) {
    char b[128];
    std::snprintf(b, sizeof b, "the engine is stuck: one step has run for %.1f s", seconds(now - step_started_));
    return b;
  }
  if (!stepping_ && seconds(now - heartbeat_) > o_.stall_seconds) return "the engine thread is not responding";
  return "";
}

void EngineLoop::drain(Clock::time_point deadline) {
  std::unique_lock<std::mutex> l(m_);
  draining_ = true;
  if (!idle_.wait_until(l, deadline, [&] { return active_count_ == 0; })) {
    stop_ = true;  // run() cancels every request it holds, queued or running, and ends
    cv_.notify_all();
    idle_.wait(l, [&] { return active_count_ == 0; });
  }
}

void EngineLoop::run() {
  try {
    for (;;) {
      std::vector<std::shared_ptr<Request>> incoming;
      {
        std::unique_lock<std::mutex> l(m_);
        heartbeat_ = Clock::now();
        // Wake at least once a second, so /health sees the thread alive.
        cv_.wait_for(l, std::chrono::seconds(1), [&] {
          if (stop_ || !inbox_.empty() || !scheduler_.idle()) return true;
          for (const auto& [id, r] : active_)
            if (r->cancel_) return true;
          return false;
        });
        heartbeat_ = Clock::now();
        incoming.swap(inbox_);
        if (stop_ && incoming.empty() && active_.empty()) break;
      }
      for (auto& r : incoming) {
        const int id = scheduler_.submit(r->prompt_, r->params_, nullptr, r->adapter_);
        active_[id] = std::move(r);
      }
      bool stopping;
      {
        std::lock_guard<std::mutex> l(m_);
        stopping = stop_;
      }
      for (const auto& [id, r] : active_) {
        if (stopping || r->cancel_) scheduler_.cancel(id);
      }
      if (!scheduler_.idle()) {
        {
          std::lock_guard<std::mutex> l(m_);
          stepping_ = true;
          step_started_ = Clock::now();
        }
        std::string error;
        try {
          scheduler_.step();
        } catch (const std::exception& e) {
          error = e.what();
        }
        {
          std::lock_guard<std::mutex> l(m_);
          stepping_ = false;
          heartbeat_ = Clock::now();
        }
        if (!error.empty()) {
          // Fail what was in the batch; the engine goes on with new requests.
          std::fprintf(stderr, "plotforge-run serve: a step failed: %s; failing %zu requests\n", error.c_str(),
                       active_.size());
          for (auto& [id, r] : active_) {
            scheduler_.cancel(id);
            std::lock_guard<std::mutex> l(r->m_);
            r->pending_.error = error;
          }
        }
      }
      dispatch();
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> l(m_);
    failure_ = e.what();
    std::fprintf(stderr, "plotforge-run serve: the engine thread stopped: %s\n", e.what());
  }
  // Whatever is left ends now.
  std::lock_guard<std::mutex> l(m_);
  for (auto& r : inbox_) active_[-1 - static_cast<int>(active_.size())] = r;
  inbox_.clear();
  for (auto& [id, r] : active_) {
    {
      std::lock_guard<std::mutex> rl(r->m_);
      r->pending_.finished = true;
      r->pending_.completions.assign(r->params_.n, Completion{});
      for (auto& c : r->pending_.completions) c.finish_reason = "abort";
      if (!failure_.empty()) r->pending_.error = failure_;
    }
    r->cv_.notify_all();
  }
  active_count_ -= static_cast<int>(active_.size());
  active_.clear();
  idle_.notify_all();
}

void EngineLoop::dispatch() {
  const auto now = Clock::now();
  std::uint64_t generated = 0, admitted_prompt = 0;
  std::vector<runtime::SchedulerEvent> events = scheduler_.take_events();
  std::vector<runtime::Finished> finished = scheduler_.take_finished();
  // Admissions and endings are counted, and the gauges published, before any
  // client is woken: a client that has its tokens or its answer and then
  // scrapes /metrics sees the step that produced them, not the one before.
  for (const auto& ev : events) {
    auto it = active_.find(ev.id);
    if (it == active_.end()) continue;
    if (ev.kind != runtime::SchedulerEvent::kAdmitted) {
      ++generated;
      continue;
    }
    Request& r = *it->second;
    r.admitted_ = true;
    admitted_prompt += r.prompt_tokens_;
    metrics_.observe_queue_time(seconds(now - r.arrival_));
    std::lock_guard<std::mutex> l(m_);
    --waiting_;
  }
  metrics_.add_tokens(admitted_prompt, generated);
  for (const auto& f : finished) {
    auto it = active_.find(f.id);
    if (it == active_.end()) continue;
    Request& r = *it->second;
    metrics_.observe_e2e(seconds(now - r.arrival_));
    if (!r.admitted_) {
      std::lock_guard<std::mutex> l(m_);
      --waiting_;
    }
  }
  publish_gauges();
  for (auto& ev : events) {
    if (ev.kind == runtime::SchedulerEvent::kAdmitted) continue;
    auto it = active_.find(ev.id);
    if (it == active_.end()) continue;
    Request& r = *it->second;
    if (r.ttft_ < 0) {
      r.ttft_ = seconds(now - r.arrival_);
      metrics_.observe_ttft(r.ttft_);
    } else if (ev.branch < static_cast<int>(r.last_token_.size()) && !(r.last_token_[ev.branch] == r.arrival_)) {
      metrics_.observe_inter_token(seconds(now - r.last_token_[ev.branch]));
    }
    if (ev.branch < static_cast<int>(r.last_token_.size())) r.last_token_[ev.branch] = now;
    {
      std::lock_guard<std::mutex> l(r.m_);
      r.pending_.tokens.push_back(std::move(ev));
    }
    r.cv_.notify_all();
  }
  int ended = 0;
  for (auto& f : finished) {
    auto it = active_.find(f.id);
    if (it == active_.end()) continue;
    Request& r = *it->second;
    {
      std::lock_guard<std::mutex> l(r.m_);
      r.pending_.finished = true;
      r.pending_.completions = std::move(f.completions);
    }
    r.cv_.notify_all();
    active_.erase(it);
    ++ended;
  }
  if (ended > 0) {
    std::lock_guard<std::mutex> l(m_);
    active_count_ -= ended;
    if (active_count_ == 0) idle_.notify_all();
  }
}

void EngineLoop::publish_gauges() {
  EngineGauges g;
  g.running = scheduler_.running();
  {
    std::lock_guard<std::mutex> l(m_);
    g.waiting = waiting_;
  }
  runtime::BlockPool& pool = engine_.pool();
  const int held = pool.total_blocks() - pool.free_blocks() - cache_.idle_blocks();
  g.kv_cache_usage = pool.total_blocks() > 0 ? static_cast<double>(held) / pool.total_blocks() : 0;
  g.prefix_queries = cache_.lookups();
  g.prefix_hits = cache_.hits();
  metrics_.set_gauges(g);
}

}  // namespace plotforge::serving
