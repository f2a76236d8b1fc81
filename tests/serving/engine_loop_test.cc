// The engine thread on a real bundle (tests/serving/make_bundle.sh): cancel
// frees a request's KV blocks, admission never overfills the cache, the
// queue bound answers 429, and drain() aborts what outlives its deadline.
#include "serving/engine_loop.h"

#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "inference/engine.h"
#include "serving/api_error.h"

namespace plotforge::serving {
namespace {

const runtime::Model& model() {
  static const auto m = [] {
    const char* dir = std::getenv("SERVING_BUNDLE");
    if (!dir) throw std::runtime_error("set SERVING_BUNDLE (CTest does)");
    return runtime::Model::load(dir);
  }();
  return *m;
}

SamplingParams long_params(int n, int max_new_tokens) {
  SamplingParams p;
  p.n = n;
  p.max_new_tokens = max_new_tokens;
  p.ignore_eos = true;
  return p;
}

// Waits for the end, counting the tokens streamed on the way.
Progress finish(Request& r, int* tokens = nullptr) {
  for (;;) {
    Progress p = r.wait(std::chrono::milliseconds(100));
    if (tokens) *tokens += static_cast<int>(p.tokens.size());
    if (p.finished) return p;
  }
}

TEST(EngineLoop, CancelEndsTheRequestAndFreesItsBlocks) {
  runtime::Runtime rt = runtime::make_runtime(model(), "cpu", 16, 512);
  Metrics metrics;
  EngineLoop loop(*rt.engine, EngineLoopOptions{}, metrics);
  const int free_before = rt.pool->free_blocks();
  auto r = loop.submit({{5, 6, 7, 8}}, long_params(4, 120), Clock::now()).at(0);
  int tokens = 0;
  while (tokens < 4) tokens += static_cast<int>(r->wait(std::chrono::milliseconds(100)).tokens.size());
  r->cancel();
  const Progress end = finish(*r, &tokens);
  ASSERT_EQ(end.completions.size(), 4u);
  for (const auto& c : end.completions) EXPECT_EQ(c.finish_reason, "abort");
  EXPECT_LT(tokens, 4 * 120);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(metrics.gauges().running, 0);
  EXPECT_EQ(metrics.gauges().kv_cache_usage, 0);
  // Blocks left behind belong to the prefix cache only (its idle blocks).
  EXPECT_LE(free_before - rt.pool->free_blocks(), 4 * (120 + 4) / 16 + 8);
}

TEST(EngineLoop, AdmissionKeepsWithinTheCache) {
  // 24 blocks of 16 positions. A request of 4 prompt tokens and 100 new in
  // 2 branches could hold 1 + 2 * 7 = 15 blocks: two never run together.
  runtime::Runtime rt = runtime::make_runtime(model(), "cpu", 16, 24);
  Metrics metrics;
  EngineLoop loop(*rt.engine, EngineLoopOptions{}, metrics);
  EXPECT_THROW(loop.submit({{5, 6, 7, 8}}, long_params(4, 100), Clock::now()), InputError);
  auto a = loop.submit({{5, 6, 7, 8}}, long_params(2, 100), Clock::now()).at(0);
  auto b = loop.submit({{9, 10, 11, 12}}, long_params(2, 100), Clock::now()).at(0);
  int max_running = 0;
  Progress pa, pb;
  while (!pa.finished || !pb.finished) {
    if (!pa.finished) pa = a->wait(std::chrono::milliseconds(5));
    if (!pb.finished) pb = b->wait(std::chrono::milliseconds(5));
    max_running = std::max(max_running, metrics.gauges().running);
  }
  for (const auto* p : {&pa, &pb}) {
    ASSERT_EQ(p->completions.size(), 2u);
    for (const auto& c : p->completions) {
      EXPECT_EQ(c.finish_reason, "length");
      EXPECT_EQ(c.tokens.size(), 100u);
    }
  }
  EXPECT_EQ(max_running, 1);
}

TEST(EngineLoop, AFullQueueAnswers429) {
  runtime::Runtime rt = runtime::make_runtime(model(), "cpu", 16, 512);
  Metrics metrics;
  EngineLoopOptions o;
  o.max_queue = 1;
  o.scheduler.max_running = 1;
  EngineLoop loop(*rt.engine, o, metrics);
  std::vector<std::shared_ptr<Request>> accepted;
  int refused = 0;
  for (int i = 0; i < 4; ++i) {
    try {
      accepted.push_back(loop.submit({{5, 6, 7}}, long_params(1, 100), Clock::now()).at(0));
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 429);
      ++refused;
    }
  }
  EXPECT_GE(refused, 2);  // one runs, one waits, the rest are refused
  for (auto& r : accepted) EXPECT_EQ(finish(*r).completions.at(0).finish_reason, "length");
}

TEST(EngineLoop, DrainAbortsWhatOutlivesTheDeadline) {
  runtime::Runtime rt = runtime::make_runtime(model(), "cpu", 16, 512);
  Metrics metrics;
  EngineLoop loop(*rt.engine, EngineLoopOptions{}, metrics);
  EXPECT_EQ(loop.health(), "");
  auto r = loop.submit({{5, 6, 7}}, long_params(8, 120), Clock::now()).at(0);
  loop.drain(Clock::now());
  EXPECT_EQ(loop.health(), "shutting down");
  const Progress end = finish(*r);
  ASSERT_EQ(end.completions.size(), 8u);
  EXPECT_EQ(end.completions[0].finish_reason, "abort");
  EXPECT_THROW(loop.submit({{5}}, long_params(1, 1), Clock::now()), ApiError);
}

}  // namespace
}  // namespace plotforge::serving
