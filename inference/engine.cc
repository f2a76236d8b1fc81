#include "inference/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <type_traits>

#include "base/cpu_features.h"
#include "base/dtype.h"
#include "base/error.h"
#include "inference/adapter.h"
#include "inference/cpu_ops.h"
#include "inference/parallel.h"
#include "kernels/cpu_paged_attention.h"

#if PLOTFORGE_HAVE_CUDA
#include "inference/cuda_engine.h"
#endif

namespace plotforge::runtime {

namespace {
// Attention runs on the thread pool from this many (cached position, head)
// pairs a layer, all rows together: one decode row of 12 heads past 64
// positions. Below it the work is a few microseconds, about a region's
// start and end. Run inline at batch 1 whatever the length, it took 14% of
// the engine thread's samples while the other core spun (perf, q8_0 on the
// 176M model, 200 tokens from a 64-token prompt): 92, 104, 101 tokens/s
// inline against
// 108, 110, 115 from 768 (docs/perf/runtime-cpu.md).
constexpr std::size_t kParallelAttention = 768;

// A key or value as the cache holds it (kv_cache.h's KvType).
template <class E>
E to_cache(float x) {
  if constexpr (std::is_same_v<E, float>) {
    return x;
  } else {
    return float_to_f16(x);
  }
}
}  // namespace

void rotary_tables(const ModelConfig& c, std::vector<float>& cos, std::vector<float>& sin) {
  const int hd = c.head_dim();
  cos.assign(static_cast<std::size_t>(c.context) * hd, 0.f);
  sin.assign(cos.size(), 0.f);
  // As the trainer builds them: float64 frequencies, rounded to float32.
  for (int t = 0; t < c.context; ++t) {
    for (int i = 0; i < hd / 2; ++i) {
      const double inv = 1.0 / std::pow(static_cast<double>(c.rope_theta), (2.0 * i) / hd);
      const double f = t * inv;
      cos[t * hd + i] = cos[t * hd + i + hd / 2] = static_cast<float>(std::cos(f));
      sin[t * hd + i] = sin[t * hd + i + hd / 2] = static_cast<float>(std::sin(f));
    }
  }
}

BatchRows batch_rows(const ModelConfig& c, BlockPool& pool, std::vector<BatchItem>& batch) {
  BatchRows r;
  int base = 0;
  for (auto& item : batch) {
    const int start = item.seq->length();
    const int count = static_cast<int>(item.tokens.size());
    if (start + count > c.context) {
      throw InputError("sequence of " + std::to_string(start + count) + " tokens exceeds the model's context of " +
                       std::to_string(c.context));
    }
    reserve(pool, *item.seq, start + count);
    for (int i = 0; i < count; ++i) {
      if (item.tokens[i] < 0 || item.tokens[i] >= c.vocab) throw InputError("token id out of range");
      r.seq.push_back(item.seq);
      r.pos.push_back(start + i);
      r.token.push_back(item.tokens[i]);
    }
    if (item.all_logits) {
      for (int i = 0; i < count; ++i) r.logit_rows.push_back(base + i);
    } else if (count > 0) {
      r.logit_rows.push_back(base + count - 1);
    }
    base += count;
  }
  return r;
}

CpuEngine::CpuEngine(const Model& model, BlockPool& pool) : Engine(model, pool) {
  // Attention reads a block 16 positions at a time (kernels/cpu_paged_attention.h).
  if (pool.block_size() % kernels::kPagedTile != 0) {
    throw InputError("KV cache blocks of " + std::to_string(pool.block_size()) + " positions: the CPU engine needs a " +
                     "multiple of " + std::to_string(kernels::kPagedTile));
  }
  rotary_tables(model.config(), cos_, sin_);
  cpu::prepare_threads();
}

std::vector<float> CpuEngine::forward(std::vector<BatchItem>& batch) {
  const ModelConfig& c = model_.config();
  const int D = c.dim, hd = c.head_dim(), H = c.n_heads, KV = c.n_kv_heads, group = H / KV;
  const int q_out = H * hd, kv_out = KV * hd, qkv_out = q_out + 2 * kv_out, F = c.hidden, bs = pool_.block_size();
  const BatchRows br = batch_rows(c, pool_, batch);
  const std::vector<Sequence*>& row_seq = br.seq;
  const std::vector<int>&row_pos = br.pos, &row_token = br.token;
  const int N = static_cast<int>(row_pos.size());
  // Buffers only grow; every element a call reads it has written first.
  auto rows_of = [N](AlignedVector<float>& v, std::size_t width) -> AlignedVector<float>& {
    if (v.size() < static_cast<std::size_t>(N) * width) v.resize(static_cast<std::size_t>(N) * width);
    return v;
  };
  AlignedVector<float>&x = rows_of(x_, D), &h = rows_of(h_, D), &qkv = rows_of(qkv_, qkv_out),
  &att = rows_of(att_, q_out), &gu = rows_of(gu_, 2 * static_cast<std::size_t>(F)), &act = rows_of(act_, F),
  &proj = rows_of(proj_, D);
  for (int n = 0; n < N; ++n) {
    kernels::decode_row(model_.embed(), row_token[n], &x[static_cast<std::size_t>(n) * D]);
    if (row_seq[n]->latent) {
      const float* e = row_seq[n]->latent->embedding.data();
      for (int d = 0; d < D; ++d) x[n * D + d] += e[d];
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Rows by LoRA adapter: the base's GEMMs run once for all rows, each
  // adapter adds its update to its own rows (inference/adapter.h).
  BatchAdapters adapters;
  for (int n = 0; n < N; ++n) adapters.set(n, row_seq[n]->adapter.get());
  const BatchAdapters* lora = adapters.empty() ? nullptr : &adapters;

  // Rows ordered by their block tables, so that rows reading the same
  // blocks sit together; and split into chunks enough for every thread to
  // get work with one head per task, of at most 64 rows (their running
  // softmax state stays in L1/L2).
  std::vector<int> order(N);
  for (int n = 0; n < N; ++n) order[n] = n;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row_seq[a]->blocks < row_seq[b]->blocks; });
  const int chunks = std::max((8 + H - 1) / H, (N + 63) / 64);
  // The cached positions attention reads per head, all rows together.
  std::size_t positions = 0;
  for (int n = 0; n < N; ++n) positions += static_cast<std::size_t>(row_pos[n]) + 1;

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model_.layers()[l];
    cpu::rms_norm(x.data(), w.input_norm, h.data(), N, D, c.norm_eps);
    cpu::matmul(h.data(), w.wqkv, qkv.data(), N);
    if (lora) {
      lora->apply(l, Proj::kQ, h.data(), D, qkv.data(), qkv_out);
      lora->apply(l, Proj::kK, h.data(), D, qkv.data() + q_out, qkv_out);
      lora->apply(l, Proj::kV, h.data(), D, qkv.data() + q_out + kv_out, qkv_out);
    }
    // Rotary on q and k, then k and v into the cache and attention over it,
    // with the cache's element E (float, or uint16_t halves: kv_cache.h).
    const auto cache_and_attend = [&](auto zero) {
      using E = decltype(zero);
      parallel_for(N, cpu::kParallelRows, [&](std::size_t n_begin, std::size_t n_end) {
        for (int n = static_cast<int>(n_begin); n < static_cast<int>(n_end); ++n) {
          float* r = &qkv[static_cast<std::size_t>(n) * qkv_out];
          const float* cs = &cos_[static_cast<std::size_t>(row_pos[n]) * hd];
          const float* sn = &sin_[static_cast<std::size_t>(row_pos[n]) * hd];
          for (int head = 0; head < H; ++head) cpu::rope(r + head * hd, cs, sn, hd);
          for (int g = 0; g < KV; ++g) cpu::rope(r + q_out + g * hd, cs, sn, hd);
          const int block = row_seq[n]->blocks[row_pos[n] / bs], off = row_pos[n] % bs;
          for (int g = 0; g < KV; ++g) {
            // Keys transposed (position fastest), values as rows (kv_cache.h).
            E* kb = pool_.k<E>(block, l) + static_cast<std::size_t>(g) * hd * bs + off;
            for (int j = 0; j < hd; ++j) kb[static_cast<std::size_t>(j) * bs] = to_cache<E>(r[q_out + g * hd + j]);
            E* vb = pool_.v<E>(block, l) + (static_cast<std::size_t>(g) * bs + off) * hd;
            for (int j = 0; j < hd; ++j) vb[j] = to_cache<E>(r[q_out + kv_out + g * hd + j]);
          }
        }
      });
      // Attention over the cache (kernels/cpu_paged_attention.h): a task is
      // one head over a chunk of rows in `order`, so rows that share blocks
      // (forked branches, a cached prefix, a prefill's positions) share each
      // block's loads.
      const kernels::CpuIsa isa = cpu::matmul_isa(WeightType::kF32);
      // Little work (a short context at batch 1) runs inline.
      const std::size_t tasks = static_cast<std::size_t>(H) * chunks;
      parallel_for(tasks, positions * H >= kParallelAttention ? 1 : tasks + 1, [&](std::size_t begin, std::size_t end) {
        std::vector<kernels::PagedQueryOf<E>> queries;
        std::vector<const E*> kv_ptrs;
        for (std::size_t task = begin; task < end; ++task) {
          const int head = static_cast<int>(task % H), chunk = static_cast<int>(task / H);
          const int g = head / group, first = N * chunk / chunks, last = N * (chunk + 1) / chunks;
          // Each row's block pointers for head group g: keys, then values.
          std::size_t total = 0;
          for (int i = first; i < last; ++i) {
            const int len = row_pos[order[i]] + 1;
            total += 2 * ((len + bs - 1) / bs);
          }
          kv_ptrs.resize(total);
          queries.clear();
          std::size_t at = 0;
          for (int i = first; i < last; ++i) {
            const int n = order[i];
            const Sequence& s = *row_seq[n];
            const int len = row_pos[n] + 1, nblocks = (len + bs - 1) / bs;
            const E** kp = &kv_ptrs[at];
            const E** vp = kp + nblocks;
            at += 2 * nblocks;
            for (int b = 0; b < nblocks; ++b) {
              kp[b] = pool_.k<E>(s.blocks[b], l) + static_cast<std::size_t>(g) * bs * hd;
              vp[b] = pool_.v<E>(s.blocks[b], l) + static_cast<std::size_t>(g) * bs * hd;
            }
            kernels::PagedQueryOf<E> pq;
            pq.q = &qkv[static_cast<std::size_t>(n) * qkv_out + head * hd];
            pq.k = kp;
            pq.v = vp;
            pq.len = len;
            // A VAE's memory slot: one more key and value, ahead of position 0.
            if (s.latent) {
              pq.mem_k = s.latent->memory.data() + static_cast<std::size_t>(l) * 2 * kv_out + g * hd;
              pq.mem_v = pq.mem_k + kv_out;
            }
            pq.out = &att[static_cast<std::size_t>(n) * q_out + head * hd];
            queries.push_back(pq);
          }
          kernels::attend_paged(queries.data(), static_cast<int>(queries.size()), bs, hd, scale, isa);
        }
      });
    };
    if (pool_.kv_type() == KvType::kF16) {
      cache_and_attend(std::uint16_t{});
    } else {
      cache_and_attend(0.0f);
    }
    cpu::block_output(w, att.data(), x.data(), N, D, F, c.norm_eps, h.data(), gu.data(), act.data(), proj.data(), lora,
                      l);
  }
  for (std::size_t i = 0; i < row_seq.size(); ++i) row_seq[i]->tokens.push_back(row_token[i]);

  const std::vector<int>& rows = br.logit_rows;
  std::vector<float> sel(rows.size() * D), normed(rows.size() * D), logits(rows.size() * c.vocab);
  for (std::size_t r = 0; r < rows.size(); ++r) std::copy_n(&x[static_cast<std::size_t>(rows[r]) * D], D, &sel[r * D]);
  cpu::rms_norm(sel.data(), model_.final_norm(), normed.data(), static_cast<int>(rows.size()), D, c.norm_eps);
  cpu::matmul(normed.data(), model_.lm_head(), logits.data(), static_cast<int>(rows.size()));
  return logits;
}

void RuntimeOptions::validate() const {
  if (prefill_chunk < 1) throw InputError("--prefill-chunk: must be at least 1");
  if (cache_blocks < 0) throw InputError("--cache-blocks: must be at least 1 (or 0: sized from the work)");
  if (kv_cache_mb < 0) throw InputError("--kv-cache-mb: must be positive (or 0: sized from the work)");
  if (cache_blocks > 0 && kv_cache_mb > 0) throw InputError("give one of --cache-blocks and --kv-cache-mb");
  weight_type();
  if (kv() != KvType::kF32 && device != "cpu")
    throw InputError("--kv-type " + kv_type + ": only the CPU engine has a choice (the CUDA engine keeps bf16)");
}

KvType RuntimeOptions::kv() const {
  KvType t;
  if (!parse_kv_type(kv_type, &t)) throw InputError("--kv-type: '" + kv_type + "' is not one of f32, f16");
  return t;
}

int RuntimeOptions::cache_blocks_for(const ModelConfig& c, int sequences) const {
  validate();
  const std::size_t block = BlockPool::block_bytes(c, kBlockSize, kv());
  std::int64_t blocks = cache_blocks;
  if (blocks == 0 && kv_cache_mb > 0) {
    blocks = static_cast<std::int64_t>(kv_cache_mb) * (1 << 20) / static_cast<std::int64_t>(block);
    if (blocks < 1) {
      throw InputError("--kv-cache-mb " + std::to_string(kv_cache_mb) + ": less than one cache block (" +
                       std::to_string(block / 1e6).substr(0, 6) + " MB for this model)");
    }
  }
  if (blocks == 0)
    blocks = static_cast<std::int64_t>(std::max(1, sequences)) * ((c.context + kBlockSize - 1) / kBlockSize);
  if (blocks > (1 << 30))
    throw InputError("--cache-blocks: " + std::to_string(blocks) + " is more than the runtime indexes");
  const double need_mb = static_cast<double>(blocks) * block / 1e6;
  const std::int64_t available = available_memory_bytes();
  if (device == "cpu" && available >= 0 && static_cast<double>(blocks) * block > static_cast<double>(available)) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "a KV cache of %lld blocks needs %.0f MB; this machine has %.0f MB available: lower "
                  "--cache-blocks or --kv-cache-mb (or the sequences run at once)",
                  static_cast<long long>(blocks), need_mb, available / 1e6);
    throw InputError(msg);
  }
  return static_cast<int>(blocks);
}

std::optional<WeightType> RuntimeOptions::weight_type() const {
  if (weights == "stored") return std::nullopt;
  WeightType t;
  if (!kernels::parse_weight_type(weights, &t)) {
    throw InputError("--weights: '" + weights + "' is not one of stored, f32, bf16, f16, q8_0");
  }
  return t;
}

Runtime make_runtime(const Model& model, const std::string& device, int block_size, int num_blocks, KvType kv) {
  if (num_blocks < 1) throw InputError("--cache-blocks: must be at least 1");
  Runtime r;
  if (device == "cpu") {
    r.pool = std::make_unique<BlockPool>(model.config(), block_size, num_blocks, /*host_storage=*/true, kv);
    r.engine = std::make_unique<CpuEngine>(model, *r.pool);
    return r;
  }
  if (device == "cuda") {
    if (kv != KvType::kF32) throw InputError("--kv-type: the CUDA engine keeps its own cache in bf16");
#if PLOTFORGE_HAVE_CUDA
    r.pool = std::make_unique<BlockPool>(model.config(), block_size, num_blocks, /*host_storage=*/false);
    r.engine = std::make_unique<CudaEngine>(model, *r.pool);
    return r;
#else
    throw InputError("--device cuda: this plotforge-run was built without CUDA; use --device cpu");
#endif
  }
  throw InputError("--device: '" + device + "' is not one of cpu, cuda");
}

}  // namespace plotforge::runtime
