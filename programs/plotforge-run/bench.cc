// plotforge-run bench: the runtime's speed on one bundle, with the memory
// bandwidth measured in the same run as the roofline for decoding.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/error.h"
#include "base/files.h"
#include "base/huge_pages.h"
#include "inference/adapter.h"
#include "inference/engine.h"
#include "inference/model.h"
#include "inference/prefix_cache.h"
#include "inference/scheduler.h"
#include "programs/common/blas_kernels.h"
#include "programs/plotforge-run/commands.h"

#if PLOTFORGE_HAVE_CUDA
#include "inference/cuda_engine.h"
#endif

namespace plotforge::programs {

using namespace plotforge::runtime;

namespace {

struct BenchOptions {
  std::string batch_sizes = "1,8,32";
  int decode_tokens = 64, prompt_tokens = 128;
  int prefill_repeats = 5;  // timed prefills after one warm-up of the same length; the median reported
  int sessions = 4, branches = 10, prefix_tokens = 192, branch_tokens = 16;
  int repeats = 5;          // branching workload runs, alternating sharing off and on; medians reported
  std::string adapters;     // adapters workload: LoRA adapter directories, comma-separated ("": skipped)
  int adapter_batch = 8;    // adapters workload: the decode batch
  std::string concurrency;  // requests workload: closed-loop clients at each level ("": skipped)
  int requests_per_client = 4;

  template <class V>
  void fields(V&& v) {
    v("batch-sizes", batch_sizes, "decode batch sizes, comma-separated");
    v("decode-tokens", decode_tokens, "decode steps per batch size");
    v("prompt-tokens", prompt_tokens, "prefill prompt length");
    v("prefill-repeats", prefill_repeats, "prefill: timed runs after a warm-up of the same length (median)");
    v("sessions", sessions, "branching workload: sessions");
    v("branches", branches, "branching workload: branches per session");
    v("prefix-tokens", prefix_tokens, "branching workload: shared prefix");
    v("branch-tokens", branch_tokens, "branching workload: tokens per branch");
    v("repeats", repeats, "branching workload: runs of each (medians)");
    v("concurrency", concurrency,
      "requests workload (what plotforge-run serve does, without HTTP): client counts, comma-separated");
    v("requests-per-client", requests_per_client, "requests workload: requests each client sends in turn");
    v("adapters", adapters,
      "adapters workload: LoRA adapters of the bundle (plotforge export --format peft), comma-separated; decode "
      "with none, one, all of them mixed in one batch, and the first merged");
    v("adapter-batch", adapter_batch, "adapters workload: the decode batch");
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Device-to-device copy bandwidth of main memory, counting bytes read plus
// bytes written; best of 5 over 1 GiB, far past any cache.
double copy_bandwidth() {
  const std::size_t n = std::size_t{1} << 30;
  // On huge pages where the kernel gives them, as the weights are
  // (base/huge_pages.h), so that the roofline is the machine's best.
  HugePageArena arena;
  std::uint8_t *a = arena.allocate(n), *b = arena.allocate(n);
  std::memset(a, 1, n);
  std::memset(b, 0, n);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(b, a, n);
    best = std::min(best, seconds_since(t0));
    a[i] = b[n - 1 - i];  // keep the copies observable
  }
  return 2.0 * n / best;
}

// Every phase reserves a KV cache for the sequences it runs (RuntimeOptions);
// the largest is reported with the process's peak resident memory.
int largest_cache_blocks = 0;

Runtime make_for(const Model& model, const RuntimeOptions& ro, int sequences) {
  Runtime rt = ro.make(model, sequences);
  largest_cache_blocks = std::max(largest_cache_blocks, rt.pool->total_blocks());
  return rt;
}

std::vector<int> random_tokens(int n, int vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(4, vocab - 1);
  std::vector<int> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const double k = (xs.size() - 1) * p / 100;
  const std::size_t lo = static_cast<std::size_t>(k), hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (xs[hi] - xs[lo]) * (k - lo);
}

// The requests workload: C clients, each sending K requests one after
// another (a P-token random prompt, M greedy tokens past EOS), through the
// scheduler and prefix cache as plotforge-run serve runs them, minus HTTP.
// bench/serving_load.py sends the same load to the server.
void requests_workload(const Model& model, const BenchOptions& o, const std::vector<int>& levels,
                       const RuntimeOptions& ro, std::mt19937& rng) {
  const ModelConfig& c = model.config();
  const int P = std::min(o.prompt_tokens, c.context - 1);
  const int M = std::min(o.decode_tokens, c.context - P);
  std::printf(
      "\nrequests workload: C clients x %d requests each, %d-token prompts, %d new tokens (greedy, past EOS), "
      "through the scheduler as plotforge-run serve runs them\n",
      o.requests_per_client, P, M);
  std::printf("| clients | requests | generated tokens/s | TTFT p50 ms | TTFT p99 ms |\n|---|---|---|---|---|\n");
  for (const int C : levels) {
    Runtime rt = make_for(model, ro, 2 * C);  // each client's request, and its prompt in the prefix cache
    PrefixCache cache(*rt.pool);
    SchedulerOptions so;
    so.prefill_chunk = ro.prefill_chunk;
    Scheduler sched(*rt.engine, &cache, so);
    SamplingParams p;
    p.temperature = 0;
    p.max_new_tokens = M;
    p.ignore_eos = true;
    const int total = C * o.requests_per_client;
    std::vector<std::vector<int>> prompts;
    for (int i = 0; i < total; ++i) prompts.push_back(random_tokens(P, c.vocab, rng));
    std::map<int, std::chrono::steady_clock::time_point> submitted;
    std::vector<double> ttft;
    int next = 0, done = 0;
    std::uint64_t generated = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto submit = [&] {
      const int id = sched.submit(prompts[next++], p);
      submitted[id] = std::chrono::steady_clock::now();
    };
    while (next < std::min(C, total)) submit();
    while (done < total) {
      sched.step();
      const auto now = std::chrono::steady_clock::now();
      for (const auto& ev : sched.take_events()) {
        if (ev.kind != SchedulerEvent::kToken) continue;
        ++generated;
        auto it = submitted.find(ev.id);
        if (it != submitted.end()) {
          ttft.push_back(std::chrono::duration<double>(now - it->second).count());
          submitted.erase(it);
        }
      }
      for (const auto& f : sched.take_finished()) {
        (void)f;
        ++done;
        if (next < total) submit();  // this client's next request
      }
    }
    const double s = seconds_since(t0);
    std::printf("| %d | %d | %.0f | %.1f | %.1f |\n", C, total, generated / s, 1e3 * percentile(ttft, 50),
                1e3 * percentile(ttft, 99));
  }
}

// Decode tokens/s of a batch of B sequences, row r running with
// adapters[r % adapters.size()] (null: the bare model).
double decode_tokens_per_s(const Model& model, const RuntimeOptions& ro, int B, int steps,
                           const std::vector<std::shared_ptr<const Adapter>>& adapters, std::mt19937& rng) {
  Runtime rt = make_for(model, ro, B);
  std::vector<Sequence> seqs(B);
  std::vector<BatchItem> prefill;
  for (int r = 0; r < B; ++r) {
    seqs[r].adapter = adapters[r % adapters.size()];
    prefill.push_back({&seqs[r], random_tokens(16, model.config().vocab, rng), false});
  }
  rt.engine->forward(prefill);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) {
    std::vector<BatchItem> batch;
    for (auto& q : seqs) batch.push_back({&q, random_tokens(1, model.config().vocab, rng), false});
    rt.engine->forward(batch);
  }
  const double s = seconds_since(t0);
  for (auto& q : seqs) free_sequence(*rt.pool, q);
  return static_cast<double>(B) * steps / s;
}

// Multi-LoRA decoding at one batch size: the bare base, every row with the
// first adapter, the rows spread over all adapters, and the first adapter
// merged into the weights. Runs alternate, `repeats` times; medians.
void adapters_workload(const std::string& bundle, const Model& model, const BenchOptions& o, const RuntimeOptions& ro,
                       std::mt19937& rng) {
  std::vector<std::shared_ptr<const Adapter>> all;
  for (const std::string& dir : split_list(o.adapters)) all.push_back(Adapter::load(dir, model));
  if (all.empty()) throw InputError("--adapters: no adapter directory given");
  const auto merged = Model::load(bundle, ro.weight_type(), all[0]->dir());
  const int B = o.adapter_batch, steps = std::min(o.decode_tokens, model.config().context - 17);
  const char* names[] = {"base, no adapter", "one adapter on every row", "mixed: row r uses adapter r mod N",
                         "one adapter merged into the weights"};
  std::vector<std::vector<double>> runs(4);
  for (int rep = 0; rep < o.repeats; ++rep) {
    runs[0].push_back(decode_tokens_per_s(model, ro, B, steps, {nullptr}, rng));
    runs[1].push_back(decode_tokens_per_s(model, ro, B, steps, {all[0]}, rng));
    runs[2].push_back(decode_tokens_per_s(model, ro, B, steps, all, rng));
    runs[3].push_back(decode_tokens_per_s(*merged, ro, B, steps, {nullptr}, rng));
  }
  std::printf(
      "\nadapters workload: %zu adapters (first of rank %d), batch %d, %d decode steps; median of %d runs each\n",
      all.size(), all[0]->rank(), B, steps, o.repeats);
  std::printf("| adapters | decode tokens/s (median) |\n|---|---|\n");
  std::vector<double> median(4);
  for (int k = 0; k < 4; ++k) {
    std::sort(runs[k].begin(), runs[k].end());
    median[k] = runs[k][runs[k].size() / 2];
    std::printf("| %s | %.0f |\n", names[k], median[k]);
  }
  std::printf("\nmixed-adapter throughput / single-adapter throughput at batch %d: %.2f (ratio of medians)\n", B,
              median[2] / median[1]);
}

// Prints a report on stdout; returns 0.
int run_bench(const std::string& bundle, const BenchOptions& o, const std::vector<int>& batch_sizes,
              const RuntimeOptions& ro) {
  const auto model = Model::load(bundle, ro.weight_type());
  const ModelConfig& c = model->config();
  std::mt19937 rng(0);
  // The CPU engine reads the weights in the precision they are kept in, from
  // host memory; the CUDA engine bf16 weights from the GPU's.
  const bool gpu = ro.device == "cuda";
  const Model::Reads reads = model->decode_reads();
  const double weight_bytes = gpu ? 2 * reads.values : reads.bytes;
  const std::string precision = gpu ? "bf16" : kernels::weight_type_name(model->layers().at(0).wqkv.type);
  double bandwidth = 0;
  if (gpu) {
#if PLOTFORGE_HAVE_CUDA
    bandwidth = CudaEngine::copy_bandwidth();
#else
    throw InputError("--device cuda: this plotforge-run was built without CUDA; use --device cpu");
#endif
  } else {
    bandwidth = copy_bandwidth();
  }
  std::printf("bundle %s on %s: %d layers, width %d, vocab %d, %.1f MB of %s weights read per decode step\n",
              bundle.c_str(), gpu ? "cuda" : "cpu", c.n_layers, c.dim, c.vocab, weight_bytes / 1e6, precision.c_str());
  if (!gpu) {
    std::printf("blas: %s\n", blas_kernels_note().c_str());
    std::printf("huge pages: %s; %.0f MB of this process on them (base/huge_pages.h)\n",
                huge_pages_available() ? "available" : "not available (transparent_hugepage is off)",
                resident_on_huge_pages() / 1e6);
  }
  std::printf("memory bandwidth (%s, read+write): %.2f GB/s -> decode roofline at batch 1: %.1f tokens/s\n\n",
              gpu ? "device-to-device copy" : "memcpy", bandwidth / 1e9, bandwidth / weight_bytes);

  {  // prefill
    // As llama-bench does: one untimed run of the same length first (it
    // touches the cache blocks and buffers a server reuses), then the
    // median of the timed ones.
    Runtime rt = make_for(*model, ro, 1);
    Engine& engine = *rt.engine;
    BlockPool& pool = *rt.pool;
    const int P = std::min(o.prompt_tokens, c.context - 1);
    std::vector<double> times;
    for (int rep = 0; rep <= o.prefill_repeats; ++rep) {
      Sequence seq;
      std::vector<BatchItem> batch{{&seq, random_tokens(P, c.vocab, rng), false}};
      const auto t0 = std::chrono::steady_clock::now();
      engine.forward(batch);
      if (rep > 0) times.push_back(seconds_since(t0));
      free_sequence(pool, seq);
    }
    std::sort(times.begin(), times.end());
    std::printf("prefill, one %d-token prompt: %.0f tokens/s (median of %d after a warm-up)\n", P,
                P / times[times.size() / 2], o.prefill_repeats);
  }
  std::printf("\n| batch | decode tokens/s | ms/step | %% of batch-1 roofline |\n|---|---|---|---|\n");
  for (int B : batch_sizes) {
    Runtime rt = make_for(*model, ro, B);
    Engine& engine = *rt.engine;
    BlockPool& pool = *rt.pool;
    std::vector<Sequence> seqs(B);
    std::vector<BatchItem> prefill;
    for (auto& s : seqs) prefill.push_back({&s, random_tokens(16, c.vocab, rng), false});
    engine.forward(prefill);
    const int steps = std::min(o.decode_tokens, c.context - 17);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) {
      std::vector<BatchItem> batch;
      for (auto& s : seqs) batch.push_back({&s, random_tokens(1, c.vocab, rng), false});
      engine.forward(batch);
    }
    const double s = seconds_since(t0);
    const double tps = static_cast<double>(B) * steps / s;
    std::printf("| %d | %.0f | %.2f | %.0f%% |\n", B, tps, 1000 * s / steps,
                100 * (B == 1 ? tps / (bandwidth / weight_bytes) : tps / (B * bandwidth / weight_bytes)));
    for (auto& q : seqs) free_sequence(pool, q);
  }
  // Branching: S sessions, each a P-token story so far, each steered into K
  // branches submitted as separate requests (as a viewer's choices arrive).
  // Sharing off and on alternate, `repeats` times each, and the medians
  // are compared, so that a slow spell of the machine hits both.
  std::printf(
      "\nbranching workload: %d sessions x %d branches on a %d-token prefix, %d tokens per branch; "
      "median of %d runs each, off and on alternating\n",
      o.sessions, o.branches, o.prefix_tokens, o.branch_tokens, o.repeats);
  std::printf(
      "| prefix sharing | seconds (median) | generated tokens/s | prefill tokens computed | prefix-cache hit rate |\n"
      "|---|---|---|---|---|\n");
  std::vector<std::vector<int>> prompts;
  for (int s = 0; s < o.sessions; ++s) {
    const auto prefix = random_tokens(o.prefix_tokens, c.vocab, rng);
    for (int k = 0; k < o.branches; ++k) {
      auto p = prefix;
      const auto choice = random_tokens(4, c.vocab, rng);
      p.insert(p.end(), choice.begin(), choice.end());
      prompts.push_back(std::move(p));
    }
  }
  struct Mode {
    std::vector<double> seconds;
    std::uint64_t prefill_tokens = 0, hits = 0, lookups = 0;
  } modes[2];
  for (int rep = 0; rep < o.repeats; ++rep) {
    for (const bool sharing : {false, true}) {
      Runtime rt = make_for(*model, ro, o.sessions * (o.branches + 1));
      PrefixCache cache(*rt.pool);
      Scheduler sched(*rt.engine, sharing ? &cache : nullptr, SchedulerOptions{});
      SamplingParams p;
      p.temperature = 0;
      p.max_new_tokens = o.branch_tokens;
      p.ignore_eos = true;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& pr : prompts) {
        if (sched.submit(pr, p) < 0) throw InputError("bench: the request queue is full");
      }
      while (!sched.idle()) sched.step();
      Mode& m = modes[sharing];
      m.seconds.push_back(seconds_since(t0));
      m.prefill_tokens = sched.prefill_tokens();
      m.hits = cache.hits();
      m.lookups = cache.lookups();
    }
  }
  double median[2];
  for (const bool sharing : {false, true}) {
    Mode& m = modes[sharing];
    std::sort(m.seconds.begin(), m.seconds.end());
    const std::size_t n = m.seconds.size();
    median[sharing] = n % 2 ? m.seconds[n / 2] : (m.seconds[n / 2 - 1] + m.seconds[n / 2]) / 2;
    const double generated = static_cast<double>(prompts.size()) * o.branch_tokens;
    std::printf(
        "| %s | %.3f | %.0f | %llu | %s |\n", sharing ? "on" : "off", median[sharing], generated / median[sharing],
        static_cast<unsigned long long>(m.prefill_tokens),
        sharing
            ? (std::to_string(static_cast<int>(100.0 * m.hits / std::max<std::uint64_t>(1, m.lookups))) + "%").c_str()
            : "-");
  }
  std::printf("\nprefix sharing speed-up on the branching workload: %.2fx (ratio of medians)\n", median[0] / median[1]);
  if (!o.concurrency.empty()) requests_workload(*model, o, parse_int_list(o.concurrency, "--concurrency"), ro, rng);
  if (!o.adapters.empty()) adapters_workload(bundle, *model, o, ro, rng);
  std::printf(
      "\nKV cache (%s): each phase reserved a full context per sequence it runs (--cache-blocks or --kv-cache-mb to "
      "fix it); the largest, %d blocks of %d positions, %.0f MB, is touched only as sequences grow. Peak resident "
      "memory of this process: %.0f MB\n",
      kv_type_name(ro.kv()), largest_cache_blocks, RuntimeOptions::kBlockSize,
      largest_cache_blocks * BlockPool::block_bytes(c, RuntimeOptions::kBlockSize, ro.kv()) / 1e6,
      process_memory_mb("VmHWM"));
  return 0;
}

}  // namespace

int cmd_bench(const Args& args) {
  po::options_description o("plotforge-run bench");
  o.add_options()("bundle", po::value<std::string>()->required(), "bundle directory from 'plotforge export'");
  BenchOptions b;
  RuntimeOptions ro;
  add_fields(o, b);
  add_fields(o, ro);
  po::variables_map vm;
  if (!parse_options("usage: plotforge-run bench --bundle DIR [options]", o, args, &vm)) return 0;
  read_fields(vm, &b);
  read_fields(vm, &ro);
  ro.validate();
  const std::vector<int> batch_sizes = parse_int_list(b.batch_sizes, "--batch-sizes");  // before the model loads
  if (!b.concurrency.empty()) parse_int_list(b.concurrency, "--concurrency");
  const std::pair<const char*, int> sizes[] = {{"decode-tokens", b.decode_tokens},
                                               {"prompt-tokens", b.prompt_tokens},
                                               {"prefill-repeats", b.prefill_repeats},
                                               {"sessions", b.sessions},
                                               {"branches", b.branches},
                                               {"prefix-tokens", b.prefix_tokens},
                                               {"branch-tokens", b.branch_tokens},
                                               {"repeats", b.repeats},
                                               {"requests-per-client", b.requests_per_client},
                                               {"adapter-batch", b.adapter_batch}};
  for (const auto& [name, v] : sizes) {
    if (v < 1) throw InputError("--" + std::string(name) + " must be at least 1 (got " + std::to_string(v) + ")");
  }
  return run_bench(vm["bundle"].as<std::string>(), b, batch_sizes, ro);
}

}  // namespace plotforge::programs
