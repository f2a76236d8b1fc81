#include "inference/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "base/error.h"
#include "base/huge_pages.h"

namespace plotforge::runtime {

namespace {
std::size_t kv_type_size(KvType t) { return t == KvType::kF16 ? 2 : 4; }
}  // namespace

const char* kv_type_name(KvType t) { return t == KvType::kF16 ? "f16" : "f32"; }

bool parse_kv_type(const std::string& name, KvType* out) {
  for (KvType t : {KvType::kF32, KvType::kF16}) {
    if (name == kv_type_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

std::size_t BlockPool::block_bytes(const ModelConfig& c, int block_size, KvType kv) {
  return 2ull * c.n_kv_heads * block_size * c.head_dim() * c.n_layers * kv_type_size(kv);
}

void BlockPool::Unmap::operator()(char* p) const { munmap(p, bytes); }

BlockPool::BlockPool(const ModelConfig& c, int block_size, int num_blocks, bool host_storage, KvType kv)
    : block_size_(block_size), num_blocks_(num_blocks), layers_(c.n_layers), kv_type_(kv), data_(nullptr, Unmap{0}) {
  layer_bytes_ = 2ull * c.n_kv_heads * block_size * c.head_dim() * kv_type_size(kv);
  block_bytes_ = layer_bytes_ * c.n_layers;
  if (host_storage) {
    // Address space only: pages arrive zeroed on first touch (MAP_NORESERVE:
    // the pool is a ceiling, not a commitment).
    const std::size_t bytes = std::max<std::size_t>(1, block_bytes_ * num_blocks);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Attention reads each block's keys and values a head (a few KB) at a
    // time, across blocks and layers: on 4 KB pages nearly every read is a
    // TLB miss (base/huge_pages.h).
    advise_huge_pages(p, bytes);
    data_ = std::unique_ptr<char, Unmap>(static_cast<char*>(p), Unmap{bytes});
  }
  refs_.assign(num_blocks, 0);
  for (int b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

int BlockPool::allocate() {
  while (free_.empty() && evict_one_ && evict_one_()) {
  }
  if (free_.empty()) return -1;
  const int b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void BlockPool::release(int block) {
  if (--refs_[block] == 0) free_.push_back(block);
}

void BlockPool::copy_block(int dst, int src) {
  if (data_) std::memcpy(block_data(dst), block_data(src), block_bytes_);
  if (copier_) copier_(dst, src);
}

void reserve(BlockPool& pool, Sequence& seq, int positions) {
  while (static_cast<int>(seq.blocks.size()) * pool.block_size() < positions) {
    const int b = pool.allocate();
    if (b < 0) {
      throw InputError("KV cache full (" + std::to_string(pool.total_blocks()) + " blocks of " +
                       std::to_string(pool.block_size()) +
                       " positions); raise --cache-blocks or lower --n/--max-new-tokens");
    }
    seq.blocks.push_back(b);
  }
}

Sequence fork(BlockPool& pool, const Sequence& parent) {
  Sequence child;
  child.tokens = parent.tokens;
  child.latent = parent.latent;
  child.adapter = parent.adapter;
  const int full = parent.length() / pool.block_size();
  for (int i = 0; i < full; ++i) {
    pool.retain(parent.blocks[i]);
    child.blocks.push_back(parent.blocks[i]);
  }
  if (parent.length() % pool.block_size() != 0) {
    // Copy-on-write of the partial last block: the child will write into it.
    const int b = pool.allocate();
    if (b < 0) throw InputError("KV cache full while branching; raise --cache-blocks");
    pool.copy_block(b, parent.blocks[full]);
    child.blocks.push_back(b);
  }
  return child;
}

void free_sequence(BlockPool& pool, Sequence& seq) {
  for (int b : seq.blocks) pool.release(b);
  seq.blocks.clear();
  seq.tokens.clear();
}

}  // namespace plotforge::runtime
