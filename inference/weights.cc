#include "inference/weights.h"

#include "base/error.h"

namespace plotforge::runtime {

WeightFile::WeightFile(const std::string& path, std::string config_name)
    : path_(path), config_name_(std::move(config_name)), file_(SafetensorsFile::open(path)) {}

const float* WeightFile::get(const std::string& name, const std::vector<std::int64_t>& shape) {
  const TensorView& t = file_.at(name);
  if (t.shape != shape) {
    std::string want, got;
    for (auto s : shape) want += std::to_string(s) + " ";
    for (auto s : t.shape) got += std::to_string(s) + " ";
    throw InputError(path_ + ": tensor '" + name + "' has shape [ " + got + "], " + config_name_ + " implies [ " +
                     want + "]");
  }
  if (t.dtype == DType::kF32 && reinterpret_cast<std::uintptr_t>(t.data) % alignof(float) == 0) {
    return reinterpret_cast<const float*>(t.data);  // used straight from the mapping
  }
  widened_.push_back(to_float32(t, path_, name));
  return widened_.back().data();
}

LayerWeights WeightFile::layer(const std::string& p, int dim, int q_out, int kv_out, int hidden) {
  const std::int64_t D = dim, Q = q_out, KV = kv_out, H = hidden;
  LayerWeights w;
  w.input_norm = get(p + "input_layernorm.weight", {D});
  w.post_norm = get(p + "post_attention_layernorm.weight", {D});
  const float* q = get(p + "self_attn.q_proj.weight", {Q, D});
  const float* k = get(p + "self_attn.k_proj.weight", {KV, D});
  const float* v = get(p + "self_attn.v_proj.weight", {KV, D});
  w.wqkv.assign(q, q + Q * D);
  w.wqkv.insert(w.wqkv.end(), k, k + KV * D);
  w.wqkv.insert(w.wqkv.end(), v, v + KV * D);
  w.wo = get(p + "self_attn.o_proj.weight", {D, Q});
  const float* g = get(p + "mlp.gate_proj.weight", {H, D});
  const float* u = get(p + "mlp.up_proj.weight", {H, D});
  w.wgate_up.assign(g, g + H * D);
  w.wgate_up.insert(w.wgate_up.end(), u, u + H * D);
  w.wdown = get(p + "mlp.down_proj.weight", {D, H});
  return w;
}

}  // namespace plotforge::runtime
