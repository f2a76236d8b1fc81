// The forward pass over a batch of sequences with a paged KV cache; the CPU
// backend is here.
//
// One call runs any mix of prefill chunks and single decode tokens: the new
// tokens of every sequence are stacked into one matrix, so the projections
// are a handful of large OpenBLAS GEMMs per layer whatever the batch; RMSNorm,
// rotary embeddings, SwiGLU and attention over each sequence's cached keys
// are our own loops.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/aligned.h"
#include "inference/kv_cache.h"
#include "inference/model.h"

namespace plotforge::runtime {

struct BatchItem {
  Sequence* seq;
  std::vector<int> tokens;  // appended to the sequence (and its cache)
  bool all_logits = false;  // logits for every new token, not just the last
};

// A forward pass over a batch of sequences. The scheduler, the generator
// and the benchmark work against this; the backends are CpuEngine (below)
// and CudaEngine (inference/cuda_engine.h, in builds with CUDA).
class Engine {
 public:
  Engine(const Model& model, BlockPool& pool) : model_(model), pool_(pool) {}
  virtual ~Engine() = default;
  // Runs the batch; returns logits rows [rows, vocab]: each item's last
  // token, or all its tokens when all_logits. Throws InputError past the
  // context or when the cache is full.
  virtual std::vector<float> forward(std::vector<BatchItem>& batch) = 0;
  const Model& model() const { return model_; }
  BlockPool& pool() { return pool_; }

 protected:
  const Model& model_;
  BlockPool& pool_;
};

// Rows of the batch: which sequence, position and token each new token is.
// Reserves cache blocks; throws InputError past the context, for a token id
// out of range, or when the cache is full.
struct BatchRows {
  std::vector<Sequence*> seq;
  std::vector<int> pos, token;
  std::vector<int> logit_rows;  // rows whose logits forward() returns, in order
};
BatchRows batch_rows(const ModelConfig& c, BlockPool& pool, std::vector<BatchItem>& batch);

// Rotary tables [context, head_dim], as the trainer builds them.
void rotary_tables(const ModelConfig& c, std::vector<float>& cos, std::vector<float>& sin);

class CpuEngine final : public Engine {
 public:
  CpuEngine(const Model& model, BlockPool& pool);
  // One call at a time (as the scheduler makes them): the activations live
  // in buffers the engine keeps between calls.
  std::vector<float> forward(std::vector<BatchItem>& batch) override;

 private:
  std::vector<float> cos_, sin_;  // [context, head_dim]
  // The activations of the last forward, kept so that the next one does not
  // fault fresh pages in: a 512-token prefill of the `small` model needs
  // 10 MB, and faulting them in again on every call cost about 7% of its time
  // (docs/perf/runtime-cpu.md). Cache-line aligned: the matrix products
  // load their rows 64 bytes at a time (base/aligned.h).
  AlignedVector<float> x_, h_, qkv_, att_, gu_, act_, proj_;
};

// The engine for --device: "cpu", or "cuda" in builds with CUDA, with its
// block pool (a CUDA engine keeps the cache's data on the GPU, so its pool
// has no host storage). Throws InputError for an unknown or unavailable
// device.
struct Runtime {
  std::unique_ptr<BlockPool> pool;
  std::unique_ptr<Engine> engine;
};
Runtime make_runtime(const Model& model, const std::string& device, int block_size, int num_blocks,
                     KvType kv = KvType::kF32);

// How plotforge-run runs a bundle: the options its commands share (the
// fields are declared once, base/settings.h).
struct RuntimeOptions {
  static constexpr int kBlockSize = 16;  // positions per KV cache block
  std::string device = "cpu";
  // The KV cache: --cache-blocks blocks, or as many as --kv-cache-mb holds,
  // or (both 0, the default) sized from the work: a full context for each
  // sequence the command runs at once. The memory is reserved and touched
  // only as sequences grow (kv_cache.h); a cache larger than the memory the
  // machine has available is refused up front.
  int cache_blocks = 0;
  int kv_cache_mb = 0;
  int prefill_chunk = 256;  // prompt tokens a request prefills per step
  // The precision the CPU engine keeps the weight matrices in: "stored"
  // (as the bundle holds them, read straight from the mapping), or f32,
  // bf16, f16, q8_0 (converted once at load). Lower precision reads fewer
  // bytes per decoded token, which is what bounds decoding; q8_0 costs a
  // little accuracy (docs/perf/runtime-cpu.md). The CUDA engine keeps bf16.
  std::string weights = "stored";
  // What the CPU engine's KV cache holds: f32, or f16 (half the memory and
  // half the bytes attention reads, keys and values rounded to half
  // precision as llama.cpp's default cache keeps them; kv_cache.h). The
  // CUDA engine keeps its own cache in bf16 and takes only the default.
  std::string kv_type = "f32";

  template <class V>
  void fields(V&& v) {
    v("device", device, "cpu, or cuda (builds with CUDA; Transformer bundles)");
    v("weights", weights, "weight precision in memory: stored (as in the bundle), f32, bf16, f16 or q8_0");
    v("cache-blocks", cache_blocks, "KV cache blocks of 16 positions (0: from --kv-cache-mb, or sized from the work)");
    v("kv-cache-mb", kv_cache_mb, "KV cache budget in MB (0: sized from the work)");
    v("kv-type", kv_type, "KV cache precision on the CPU: f32, or f16 (half the memory)");
    v("prefill-chunk", prefill_chunk, "prompt tokens a request prefills per step");
  }
  // Throws InputError naming the option when a value is out of range.
  void validate() const;
  // --weights as a type; none for "stored".
  std::optional<WeightType> weight_type() const;
  // --kv-type as a type.
  KvType kv() const;
  // The KV cache blocks for `sequences` sequences of up to the model's
  // context at once (or what --cache-blocks / --kv-cache-mb say). Throws
  // InputError, with the megabytes it would need, for a host cache larger
  // than the memory available.
  int cache_blocks_for(const ModelConfig& c, int sequences) const;
  Runtime make(const Model& model, int sequences) const {
    return make_runtime(model, device, kBlockSize, cache_blocks_for(model.config(), sequences), kv());
  }
};

}  // namespace plotforge::runtime
