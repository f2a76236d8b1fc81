// Weights out of a safetensors file, each checked against the shape its
// config implies. Matrices stay in their stored precision (float32, bf16,
// f16) and are used straight from the mapping, or are converted once at load
// to the precision the runtime was asked for (--weights, down to q8_0);
// vectors (norms, biases) are float32. Every matrix starts on a 64-byte
// line: one in the mapping that does not (a file from another writer;
// ours aligns them, base/safetensors.h) is copied into aligned memory and
// its pages of the mapping released. The mapping and the converted
// matrices ask for 2 MB pages (base/huge_pages.h says why). Shared by every
// bundle the runtime loads (model.h, scene_classifier.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/huge_pages.h"
#include "base/safetensors.h"
#include "kernels/weight_formats.h"

namespace plotforge::runtime {

using kernels::WeightMatrix;
using kernels::WeightType;

// A float32 matrix [rows, cols] at `data`, as a WeightMatrix.
inline WeightMatrix f32_matrix(const float* data, int rows, int cols) {
  return {WeightType::kF32, reinterpret_cast<const std::uint8_t*>(data), rows, cols};
}

// The whole matrix as float32 (the CUDA engine's upload, tests).
std::vector<float> to_float32(const WeightMatrix& w);

// One Llama block's weights, with q/k/v and gate/up stacked so each is one
// matrix product.
struct LayerWeights {
  const float *input_norm, *post_norm;
  WeightMatrix wqkv;      // [q_out + 2 kv_out, dim]: q, k, v stacked
  WeightMatrix wo;        // [dim, n_heads * head_dim]
  WeightMatrix wgate_up;  // [2 hidden, dim]
  WeightMatrix wdown;     // [dim, hidden]
};

class WeightFile {
 public:
  // Maps and validates `path`. `config_name` is the file whose fields imply
  // the shapes, for errors ("config.json"). `matrix_type`: the precision
  // matrices are kept in; none keeps each as stored. Throws InputError.
  WeightFile(const std::string& path, std::string config_name, std::optional<WeightType> matrix_type = std::nullopt);

  // The tensor as float32. Throws InputError naming the file and tensor if
  // it is absent or its shape is not `shape`.
  const float* get(const std::string& name, const std::vector<std::int64_t>& shape);
  // A matrix [rows, cols] in the precision asked for; several names are
  // stacked by rows into one matrix (their columns must agree). Throws
  // InputError naming the file and tensor if one is absent, misshapen, or
  // holds a value the precision cannot (a NaN, a q8_0 block past range,
  // columns not a multiple of 32 for q8_0).
  WeightMatrix matrix(const std::vector<std::string>& names, const std::vector<std::vector<std::int64_t>>& shapes);
  WeightMatrix matrix(const std::string& name, const std::vector<std::int64_t>& shape) {
    return matrix(std::vector<std::string>{name}, {shape});
  }
  bool has(const std::string& name) const { return file_.tensors().count(name) > 0; }

  // A Llama block under `prefix` ("model.layers.3."): input_layernorm,
  // self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj.
  LayerWeights layer(const std::string& prefix, int dim, int q_out, int kv_out, int hidden);

  // Adds `delta` (float32, the tensor's shape) to tensor `name` when a
  // matrix containing it is built (a merged LoRA adapter); call before.
  void add_delta(const std::string& name, std::vector<float> delta);

 private:
  const TensorView& checked(const std::string& name, const std::vector<std::int64_t>& shape) const;
  std::string path_, config_name_;
  std::optional<WeightType> matrix_type_;
  SafetensorsFile file_;
  std::vector<std::vector<float>> widened_;
  HugePageArena converted_;  // converted, stacked or realigned matrices
  std::map<std::string, std::vector<float>> deltas_;
};

}  // namespace plotforge::runtime
