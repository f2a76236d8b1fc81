// Float32 weights out of a safetensors file, each checked against the shape
// its config implies: fp32 tensors are used straight from the mapping,
// others (bf16) are widened once and kept here. Shared by every bundle the
// runtime loads (model.h, scene_classifier.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/safetensors.h"

namespace plotforge::runtime {

// One Llama block's weights, with q/k/v and gate/up stacked so each is one
// GEMM.
struct LayerWeights {
  const float *input_norm, *post_norm;
  std::vector<float> wqkv;      // [q_out + 2 kv_out, dim]: q, k, v stacked
  const float* wo;              // [dim, n_heads * head_dim]
  std::vector<float> wgate_up;  // [2 hidden, dim]
  const float* wdown;           // [dim, hidden]
};

class WeightFile {
 public:
  // Maps and validates `path`. `config_name` is the file whose fields imply
  // the shapes, for errors ("config.json"). Throws InputError.
  WeightFile(const std::string& path, std::string config_name);

  // The tensor as float32. Throws InputError naming the file and tensor if
  // it is absent or its shape is not `shape`.
  const float* get(const std::string& name, const std::vector<std::int64_t>& shape);
  bool has(const std::string& name) const { return file_.tensors().count(name) > 0; }

  // A Llama block under `prefix` ("model.layers.3."): input_layernorm,
  // self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj.
  LayerWeights layer(const std::string& prefix, int dim, int q_out, int kv_out, int hidden);

 private:
  std::string path_, config_name_;
  SafetensorsFile file_;
  std::vector<std::vector<float>> widened_;
};

}  // namespace plotforge::runtime
