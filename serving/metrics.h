// The server's metrics, written in Prometheus' text exposition format under
// vLLM's names with a "plotforge:" prefix (docs/serving.md lists them).
// Every method is thread-safe: HTTP handlers count requests, the engine
// thread observes latencies and sets the gauges.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace plotforge::serving {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // "# HELP", "# TYPE", the cumulative _bucket lines with le="+Inf", _sum, _count.
  void write(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// The engine's state at its last step.
struct EngineGauges {
  int running = 0, waiting = 0;
  double kv_cache_usage = 0;                          // blocks held by running requests / all blocks, in [0, 1]
  std::uint64_t prefix_queries = 0, prefix_hits = 0;  // full prompt blocks looked up, and reused
};

class Metrics {
 public:
  Metrics();
  // One per completion request, whatever became of it: finished ("stop",
  // "length" or "abort"), or failed ("queue_full", "invalid", "too_large",
  // "unauthorized", "disconnected", "shutting_down", "error").
  void request_succeeded(const std::string& finished_reason);
  void request_failed(const std::string& reason);
  void add_tokens(std::uint64_t prompt, std::uint64_t generation);
  void observe_queue_time(double s);
  void observe_ttft(double s);
  void observe_inter_token(double s);
  void observe_e2e(double s);
  void set_gauges(const EngineGauges& g);
  EngineGauges gauges() const;
  std::string text() const;

 private:
  void observe(Histogram& h, double s);
  mutable std::mutex m_;
  std::map<std::string, std::uint64_t> success_, failure_;
  std::uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
  Histogram queue_, ttft_, itl_, e2e_;
  EngineGauges gauges_;
};

}  // namespace plotforge::serving
