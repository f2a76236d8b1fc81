// LoRA adapters in the runtime (docs/finetuning.md): a base bundle serves
// any number of adapters at once, and the requests of one batch may each
// name a different one (or none), as vLLM's multi-LoRA does. The base's
// projections run once for the whole batch; each adapter adds its low-rank
// product scale * B (A x) to the rows that use it, in two small GEMMs per
// projection. Merged mode (Model::load's `merge`) folds one adapter into
// the weights instead: no per-row work, one adapter for the whole model.
//
// An adapter is PEFT's layout as `plotforge export --format peft` writes it:
//   DIR/adapter_config.json         peft_type LORA, r, lora_alpha,
//                                   target_modules (use_rslora, use_dora
//                                   false)
//   DIR/adapter_model.safetensors   base_model.model.model.layers.N.
//                                   {self_attn,mlp}.P.lora_{A,B}.weight
// It must belong to the base: its metadata's plotforge.base_source_sha256
// (the checkpoint the base bundle was exported from) must equal the base
// bundle's config.json plotforge.source_sha256, and its shapes the base's.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "inference/model.h"

namespace plotforge::runtime {

// The seven projections of a Llama block, in this order everywhere.
enum class Proj { kQ, kK, kV, kO, kGate, kUp, kDown };
constexpr int kProjections = 7;

class Adapter {
 public:
  // Loads DIR for a base of shape `c` whose config.json records
  // `base_source_sha256` (base_dir names it in errors). Throws InputError
  // naming the file and field or tensor at fault.
  static std::shared_ptr<const Adapter> load(const std::string& dir, const ModelConfig& c,
                                             const std::string& base_source_sha256, const std::string& base_dir);
  static std::shared_ptr<const Adapter> load(const std::string& dir, const Model& base);

  const std::string& dir() const { return dir_; }
  int rank() const { return rank_; }
  float scale() const { return scale_; }
  // y[0:out] += scale * B A x[0:in] for one row, when this adapter adapts
  // projection p of layer l; nothing otherwise. The arithmetic depends on
  // the row alone (a fixed order), so a row gets the same numbers in any
  // batch, beside any other adapters.
  void apply_row(int layer, Proj p, const float* x, float* y) const;
  // Multiply-adds apply_row does for projection p of layer l (0: not adapted).
  long long row_work(int layer, Proj p) const;
  // The full update scale * B A of projection p in layer l ([out, in]
  // row-major), empty when not adapted: what merged mode adds.
  std::vector<float> delta(int layer, Proj p) const;

 private:
  // Both factors stored transposed, so that apply_row's inner loops run
  // over contiguous memory with no reduction across vector lanes: x times
  // At accumulates `rank` sums at once, and each of them times a row of Bt
  // is an axpy over the outputs.
  struct Pair {
    std::vector<float> At;  // lora_A transposed: [in, rank]
    std::vector<float> Bt;  // scale * lora_B transposed: [rank, out]
    int in = 0, out = 0;
  };
  std::string dir_;
  int rank_ = 0;
  float scale_ = 0;
  std::vector<std::array<Pair, kProjections>> layers_;
};

// Which adapter each row of a batch runs with. Rows are applied one by one
// (Adapter::apply_row), spread over the thread pool, so a batch that mixes
// adapters costs what a batch with one adapter costs: no per-adapter
// grouping, gathering or small GEMMs.
class BatchAdapters {
 public:
  // Row `row` of the batch uses `a` (null: the bare base).
  void set(int row, const Adapter* a);
  bool empty() const { return rows_.empty(); }
  // out[row, :] += the row's adapter's update of projection p, for every
  // row with an adapter; `in` and `out` are the batch's matrices (row
  // strides in_stride and out_stride, `out` already offset to p's columns).
  void apply(int layer, Proj p, const float* in, int in_stride, float* out, int out_stride) const;

 private:
  std::vector<std::pair<int, const Adapter*>> rows_;
};

}  // namespace plotforge::runtime
