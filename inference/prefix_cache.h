// The prefix cache: full KV blocks kept after their sequences finish, keyed
// by the token ids of the whole prefix they complete, so a later request
// that starts the same way reuses them instead of recomputing them.
//
// Keys form a chain: a block's key hashes its parent's key and its own
// tokens, and each entry keeps its tokens and parent key to rule out hash
// collisions. The cache holds one reference to each cached block; when the
// pool runs dry it evicts the least recently used block that no sequence
// is using (reference count 1) and that no other cached block extends.
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "inference/kv_cache.h"

namespace plotforge::runtime {

class PrefixCache {
 public:
  explicit PrefixCache(BlockPool& pool);
  // Fills an empty seq with the longest cached run of full blocks that
  // starts `tokens` (at most tokens.size() - 1 positions, so the last
  // prompt token is always computed); returns the positions matched.
  int match(const std::vector<int>& tokens, Sequence* seq);
  // Caches seq's full blocks that are not cached yet.
  void insert(const Sequence& seq);

  // Cached blocks that no sequence uses (evictable on demand).
  int idle_blocks() const;
  std::uint64_t lookups() const { return lookups_; }  // full prompt blocks looked up
  std::uint64_t hits() const { return hits_; }        // of which reused

 private:
  struct Entry {
    int block;
    std::uint64_t parent;
    std::vector<int> tokens;
    int children = 0;
    std::list<std::uint64_t>::iterator lru;
  };
  std::uint64_t key(std::uint64_t parent, const int* tokens) const;
  bool evict_one();

  BlockPool& pool_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::list<std::uint64_t> lru_;  // front: most recent
  std::uint64_t lookups_ = 0, hits_ = 0;
};

}  // namespace plotforge::runtime
