// The CPU forward pass over a batch of sequences with a paged KV cache.
//
// One call runs any mix of prefill chunks and single decode tokens: the new
// tokens of every sequence are stacked into one matrix, so the projections
// are a handful of large OpenBLAS GEMMs per layer whatever the batch; RMSNorm,
// rotary embeddings, SwiGLU and attention over each sequence's cached keys
// are our own loops.
#pragma once

#include <vector>

#include "inference/kv_cache.h"
#include "inference/model.h"

namespace plotforge::runtime {

struct BatchItem {
  Sequence* seq;
  std::vector<int> tokens;  // appended to the sequence (and its cache)
  bool all_logits = false;  // logits for every new token, not just the last
};

class Engine {
 public:
  Engine(const Model& model, BlockPool& pool);
  // Runs the batch; returns logits rows [rows, vocab]: each item's last
  // token, or all its tokens when all_logits. Throws InputError past the
  // context or when the cache is full.
  std::vector<float> forward(std::vector<BatchItem>& batch);
  const Model& model() const { return model_; }
  BlockPool& pool() { return pool_; }

 private:
  const Model& model_;
  BlockPool& pool_;
  std::vector<float> cos_, sin_;  // [context, head_dim]
};

}  // namespace plotforge::runtime
