// The paged KV cache: fixed-size blocks from one pool, a block table per
// sequence, reference counts so sequences can share blocks.
//
// A block holds block_size positions of keys and values for every layer:
//   [layer][K or V][kv_head][...] elements (KvType), the keys as [head_dim][position
// in block] (transposed: one vector of scores per key row, the layout
// kernels/cpu_paged_attention.h reads) and the values as [position in
// block][head_dim].
// The pool's memory is reserved, not filled: the operating system maps a
// page in (zeroed) when a block is first written, and freed blocks are
// reused first, so a large pool costs only what sequences have used.
// fork() makes a child that shares its parent's full blocks (reference
// counted) and copies the partial last one, so n branches of one prompt
// store the prompt once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inference/model.h"

namespace plotforge::runtime {

class Adapter;  // inference/adapter.h

// What a host cache holds per key and value (--kv-type):
//   kF32  float32: attention reads exactly what the projection computed.
//   kF16  IEEE half, rounded to nearest (llama.cpp's default cache type):
//         half the memory, so twice the sequences or context in a budget,
//         and half the bytes attention reads, which is what bounds it over
//         many sequences (decode at batch 32 on the 176M model read about
//         as many bytes of cache as of f16 weights per step,
//         docs/perf/runtime-cpu.md). Keys and values past 65504 in
//         magnitude become infinite; the models here stay far below.
enum class KvType { kF32, kF16 };
const char* kv_type_name(KvType t);
// The type named `name` ("f32", "f16"); false for any other name.
bool parse_kv_type(const std::string& name, KvType* out);

class BlockPool {
 public:
  // host_storage false: the pool only hands out and counts block ids, and
  // the data lives elsewhere (the CUDA engine's device caches; k() and v()
  // must not be called).
  BlockPool(const ModelConfig& c, int block_size, int num_blocks, bool host_storage = true, KvType kv = KvType::kF32);
  KvType kv_type() const { return kv_type_; }
  int block_size() const { return block_size_; }
  int free_blocks() const { return static_cast<int>(free_.size()); }
  int total_blocks() const { return num_blocks_; }
  // A fresh block with reference count 1, or -1 if the pool is empty even
  // after asking the evictor (the prefix cache) to free one.
  int allocate();
  void set_evictor(std::function<bool()> evict_one) { evict_one_ = std::move(evict_one); }
  void retain(int block) { ++refs_[block]; }
  void release(int block);
  int refcount(int block) const { return refs_[block]; }
  // A block's keys and values for one layer, as E (float for kF32,
  // std::uint16_t holding halves for kF16; the caller checks kv_type()).
  template <class E>
  E* k(int block, int layer) {
    return reinterpret_cast<E*>(block_data(block) + layer * layer_bytes_);
  }
  template <class E>
  E* v(int block, int layer) {
    return reinterpret_cast<E*>(block_data(block) + layer * layer_bytes_ + layer_bytes_ / 2);
  }
  // Bytes one block takes (keys and values of every layer).
  static std::size_t block_bytes(const ModelConfig& c, int block_size, KvType kv = KvType::kF32);
  // Copies a block's keys and values (copy-on-write when branching), in host
  // storage and through the copier a backend with its own storage set.
  void copy_block(int dst, int src);
  void set_copier(std::function<void(int dst, int src)> copy) { copier_ = std::move(copy); }

 private:
  char* block_data(int block) { return data_.get() + static_cast<std::size_t>(block) * block_bytes_; }
  int block_size_, num_blocks_, layers_;
  KvType kv_type_;
  std::size_t layer_bytes_, block_bytes_;
  struct Unmap {
    std::size_t bytes;
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Unmap> data_;
  std::vector<int> refs_, free_;
  std::function<bool()> evict_one_;
  std::function<void(int, int)> copier_;
};

struct Sequence {
  std::vector<int> blocks;  // the block table
  std::vector<int> tokens;  // every token in the cache, in order
  // A VAE decoder's latent conditioning; null for a plain Transformer. Its
  // cached keys depend on it, so such sequences never enter the prefix cache.
  std::shared_ptr<const LatentCondition> latent;
  // A LoRA adapter the sequence runs with (inference/adapter.h); null: the
  // bare base. Its keys and values are the adapter's, so likewise.
  std::shared_ptr<const Adapter> adapter;
  // Whether its cached keys are the bare base's, which the prefix cache
  // holds and shares.
  bool prefix_cacheable() const { return !latent && !adapter; }
  int length() const { return static_cast<int>(tokens.size()); }
};

// Grows seq's block table to hold `positions`; throws InputError when the
// pool is exhausted.
void reserve(BlockPool& pool, Sequence& seq, int positions);
Sequence fork(BlockPool& pool, const Sequence& parent);
void free_sequence(BlockPool& pool, Sequence& seq);

}  // namespace plotforge::runtime
