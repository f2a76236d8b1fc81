#include "inference/prefix_cache.h"

#include <algorithm>

namespace plotforge::runtime {

namespace {
constexpr std::uint64_t kRoot = 0x9E3779B97F4A7C15ull;
}

PrefixCache::PrefixCache(BlockPool& pool) : pool_(pool) {
  pool_.set_evictor([this] { return evict_one(); });
}

std::uint64_t PrefixCache::key(std::uint64_t parent, const int* tokens) const {
  std::uint64_t h = parent ^ 0xcbf29ce484222325ull;
  for (int i = 0; i < pool_.block_size(); ++i) {
    h ^= static_cast<std::uint32_t>(tokens[i]);
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h == kRoot ? h + 1 : h;
}

int PrefixCache::match(const std::vector<int>& tokens, Sequence* seq) {
  const int bs = pool_.block_size();
  const int full = (static_cast<int>(tokens.size()) - 1) / bs;
  std::uint64_t parent = kRoot;
  int matched = 0;
  lookups_ += full;
  for (int b = 0; b < full; ++b) {
    const std::uint64_t k = key(parent, tokens.data() + b * bs);
    const auto it = entries_.find(k);
    if (it == entries_.end() || it->second.parent != parent ||
        !std::equal(it->second.tokens.begin(), it->second.tokens.end(), tokens.begin() + b * bs)) {
      break;
    }
    pool_.retain(it->second.block);
    seq->blocks.push_back(it->second.block);
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    parent = k;
    ++matched;
  }
  hits_ += matched;
  seq->tokens.assign(tokens.begin(), tokens.begin() + matched * bs);
  return matched * bs;
}

void PrefixCache::insert(const Sequence& seq) {
  const int bs = pool_.block_size();
  const int full = seq.length() / bs;
  std::uint64_t parent = kRoot;
  for (int b = 0; b < full; ++b) {
    const std::uint64_t k = key(parent, seq.tokens.data() + b * bs);
    auto it = entries_.find(k);
    if (it == entries_.end()) {
      lru_.push_front(k);
      Entry e{seq.blocks[b], parent, std::vector<int>(seq.tokens.begin() + b * bs, seq.tokens.begin() + (b + 1) * bs),
              0, lru_.begin()};
      pool_.retain(e.block);
      entries_.emplace(k, std::move(e));
      if (parent != kRoot) ++entries_.at(parent).children;
    } else if (it->second.block != seq.blocks[b]) {
      break;  // this sequence computed its own copy of a cached prefix; keep the cached one
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    parent = k;
  }
}

int PrefixCache::idle_blocks() const {
  int n = 0;
  for (const auto& [k, e] : entries_) n += pool_.refcount(e.block) == 1;
  return n;
}

bool PrefixCache::evict_one() {
  // Least recently used leaf that only the cache holds.
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    auto e = entries_.find(*it);
    if (e->second.children == 0 && pool_.refcount(e->second.block) == 1) {
      if (e->second.parent != kRoot) --entries_.at(e->second.parent).children;
      pool_.release(e->second.block);
      lru_.erase(std::next(it).base());
      entries_.erase(e);
      return true;
    }
  }
  return false;
}

}  // namespace plotforge::runtime
