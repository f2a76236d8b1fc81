#include "serving/metrics.h"

#include <cstdio>
#include <cstdlib>

namespace plotforge::serving {

namespace {

// The shortest text that reads back as v ("0.0025", not "0.0025000000000000001").
std::string num(double v) {
  char b[64];
  if (v == static_cast<double>(static_cast<long long>(v)) && v > -1e15 && v < 1e15) {
    std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v));
    return b;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(b, sizeof b, "%.*g", precision, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

void family(std::string& out, const std::string& name, const char* type, const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,
                                             0.5,   0.75,   1.0,   2.5,  5.0,  7.5,  10.0, 20.0, 40.0, 80.0};

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& help) const {
  family(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : queue_(kLatencyBuckets), ttft_(kLatencyBuckets), itl_(kLatencyBuckets), e2e_(kLatencyBuckets) {
  for (const char* r : {"stop", "length", "abort"}) success_[r] = 0;
  for (const char* r : {"queue_full", "invalid", "too_large", "unauthorized", "disconnected", "shutting_down", "error"})
    failure_[r] = 0;
}

void Metrics::request_succeeded(const std::string& reason) {
  std::lock_guard<std::mutex> l(m_);
  ++success_[reason];
}
void Metrics::request_failed(const std::string& reason) {
  std::lock_guard<std::mutex> l(m_);
  ++failure_[reason];
}
void Metrics::add_tokens(std::uint64_t prompt, std::uint64_t generation) {
  std::lock_guard<std::mutex> l(m_);
  prompt_tokens_ += prompt;
  generation_tokens_ += generation;
}
void Metrics::observe(Histogram& h, double s) {
  std::lock_guard<std::mutex> l(m_);
  h.observe(s);
}
void Metrics::observe_queue_time(double s) { observe(queue_, s); }
void Metrics::observe_ttft(double s) { observe(ttft_, s); }
void Metrics::observe_inter_token(double s) { observe(itl_, s); }
void Metrics::observe_e2e(double s) { observe(e2e_, s); }
void Metrics::set_gauges(const EngineGauges& g) {
  std::lock_guard<std::mutex> l(m_);
  gauges_ = g;
}
EngineGauges Metrics::gauges() const {
  std::lock_guard<std::mutex> l(m_);
  return gauges_;
}

std::string Metrics::text() const {
  std::lock_guard<std::mutex> l(m_);
  std::string out;
  const std::string p = "plotforge:";
  family(out, p + "num_requests_running", "gauge", "Requests decoding or prefilling in the engine.");
  out += p + "num_requests_running " + std::to_string(gauges_.running) + "\n";
  family(out, p + "num_requests_waiting", "gauge", "Requests waiting to be admitted.");
  out += p + "num_requests_waiting " + std::to_string(gauges_.waiting) + "\n";
  family(out, p + "kv_cache_usage_perc", "gauge",
         "Fraction of KV cache blocks held by running requests (1 = full; idle prefix-cache blocks excluded).");
  out += p + "kv_cache_usage_perc " + num(gauges_.kv_cache_usage) + "\n";
  family(out, p + "prefix_cache_queries_total", "counter", "Full prompt KV blocks looked up in the prefix cache.");
  out += p + "prefix_cache_queries_total " + std::to_string(gauges_.prefix_queries) + "\n";
  family(out, p + "prefix_cache_hits_total", "counter", "Full prompt KV blocks reused from the prefix cache.");
  out += p + "prefix_cache_hits_total " + std::to_string(gauges_.prefix_hits) + "\n";
  family(out, p + "prompt_tokens_total", "counter", "Prompt tokens of admitted requests.");
  out += p + "prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  family(out, p + "generation_tokens_total", "counter", "Tokens generated.");
  out += p + "generation_tokens_total " + std::to_string(generation_tokens_) + "\n";
  family(out, p + "request_success_total", "counter", "Completion requests finished, by finish reason.");
  for (const auto& [r, n] : success_)
    out += p + "request_success_total{finished_reason=\"" + r + "\"} " + std::to_string(n) + "\n";
  family(out, p + "request_failure_total", "counter", "Completion requests that failed, by reason.");
  for (const auto& [r, n] : failure_)
    out += p + "request_failure_total{reason=\"" + r + "\"} " + std::to_string(n) + "\n";
  ttft_.write(out, p + "time_to_first_token_seconds", "Time from arrival to the first generated token.");
  itl_.write(out, p + "inter_token_latency_seconds", "Time between successive tokens of a branch.");
  e2e_.write(out, p + "e2e_request_latency_seconds", "Time from arrival to the last token.");
  queue_.write(out, p + "request_queue_time_seconds", "Time from arrival to admission into the batch.");
  return out;
}

}  // namespace plotforge::serving
