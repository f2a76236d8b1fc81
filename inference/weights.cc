#include "inference/weights.h"

#include <cstring>

#include "base/aligned.h"
#include "base/error.h"

namespace plotforge::runtime {

namespace {

// The stored dtype as a matrix type, if the kernels read it as it is.
std::optional<WeightType> as_matrix_type(DType t) {
  switch (t) {
    case DType::kF32:
      return WeightType::kF32;
    case DType::kBF16:
      return WeightType::kBF16;
    case DType::kF16:
      return WeightType::kF16;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::vector<float> to_float32(const WeightMatrix& w) {
  std::vector<float> out(static_cast<std::size_t>(w.rows) * w.cols);
  for (int r = 0; r < w.rows; ++r) kernels::decode_row(w, r, out.data() + static_cast<std::size_t>(r) * w.cols);
  return out;
}

WeightFile::WeightFile(const std::string& path, std::string config_name, std::optional<WeightType> matrix_type)
    : path_(path),
      config_name_(std::move(config_name)),
      matrix_type_(matrix_type),
      file_(SafetensorsFile::open(path)) {}

const TensorView& WeightFile::checked(const std::string& name, const std::vector<std::int64_t>& shape) const {
  const TensorView& t = file_.at(name);
  if (t.shape != shape) {
    std::string want, got;
    for (auto s : shape) want += std::to_string(s) + " ";
    for (auto s : t.shape) got += std::to_string(s) + " ";
    throw InputError(path_ + ": tensor '" + name + "' has shape [ " + got + "], " + config_name_ + " implies [ " +
                     want + "]");
  }
  return t;
}

const float* WeightFile::get(const std::string& name, const std::vector<std::int64_t>& shape) {
  const TensorView& t = checked(name, shape);
  if (t.dtype == DType::kF32 && reinterpret_cast<std::uintptr_t>(t.data) % alignof(float) == 0) {
    return reinterpret_cast<const float*>(t.data);  // used straight from the mapping
  }
  widened_.push_back(to_float32(t, path_, name));
  return widened_.back().data();
}

WeightMatrix WeightFile::matrix(const std::vector<std::string>& names,
                                const std::vector<std::vector<std::int64_t>>& shapes) {
  std::vector<const TensorView*> parts;
  int rows = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    parts.push_back(&checked(names[i], shapes[i]));
    rows += static_cast<int>(shapes[i][0]);
  }
  const int cols = static_cast<int>(shapes[0][1]);
  const std::optional<WeightType> stored = as_matrix_type(parts[0]->dtype);
  bool same = stored.has_value();
  for (const TensorView* p : parts) same = same && p->dtype == parts[0]->dtype;
  const WeightType type = matrix_type_ ? *matrix_type_ : same ? *stored : WeightType::kF32;
  bool changed = false;
  for (const auto& n : names) changed = changed || deltas_.count(n) > 0;
  if (parts.size() == 1 && same && type == *stored && !changed) {
    const TensorView& t = *parts[0];
    if (cache_aligned(t.data)) return {type, t.data, rows, cols};  // used straight from the mapping
    std::uint8_t* out = converted_.allocate(t.bytes);
    std::memcpy(out, t.data, t.bytes);
    file_.release(t);
    return {type, out, rows, cols};
  }
  if (type == WeightType::kQ8_0 && cols % kernels::kQ8Block != 0) {
    throw InputError(path_ + ": tensor '" + names[0] + "' has " + std::to_string(cols) +
                     " columns; q8_0 needs a multiple of 32 (use --weights bf16 or f16)");
  }
  const std::size_t row_bytes = kernels::weight_row_bytes(type, cols);
  std::uint8_t* out = converted_.allocate(static_cast<std::size_t>(rows) * row_bytes);
  std::size_t at = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const TensorView& t = *parts[i];
    const auto delta = deltas_.find(names[i]);
    if (as_matrix_type(t.dtype) == type && delta == deltas_.end()) {
      std::memcpy(out + at, t.data, t.bytes);
      at += t.bytes;
    } else {
      std::vector<float> values = to_float32(t, path_, names[i]);
      if (delta != deltas_.end()) {
        for (std::size_t k = 0; k < values.size(); ++k) values[k] += delta->second[k];
      }
      for (std::int64_t r = 0; r < t.shape[0]; ++r, at += row_bytes) {
        if (!kernels::encode_row(values.data() + r * cols, cols, type, out + at)) {
          throw InputError(path_ + ": tensor '" + names[i] + "' row " + std::to_string(r) + " holds a value " +
                           kernels::weight_type_name(type) +
                           " cannot (not finite, or past its range); load it with --weights f32");
        }
      }
    }
    file_.release(t);  // its copy is in `out`; a later read maps it back in
  }
  return {type, out, rows, cols};
}

void WeightFile::add_delta(const std::string& name, std::vector<float> delta) {
  const TensorView& t = file_.at(name);
  if (static_cast<std::int64_t>(delta.size()) != t.numel()) {
    throw InputError(path_ + ": tensor '" + name + "' has " + std::to_string(t.numel()) + " values, its update " +
                     std::to_string(delta.size()));
  }
  deltas_[name] = std::move(delta);
}

LayerWeights WeightFile::layer(const std::string& p, int dim, int q_out, int kv_out, int hidden) {
  const std::int64_t D = dim, Q = q_out, KV = kv_out, H = hidden;
  LayerWeights w;
  w.input_norm = get(p + "input_layernorm.weight", {D});
  w.post_norm = get(p + "post_attention_layernorm.weight", {D});
  w.wqkv = matrix({p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"},
                  {{Q, D}, {KV, D}, {KV, D}});
  w.wo = matrix(p + "self_attn.o_proj.weight", {D, Q});
  w.wgate_up = matrix({p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"}, {{H, D}, {H, D}});
  w.wdown = matrix(p + "mlp.down_proj.weight", {D, H});
  return w;
}

}  // namespace plotforge::runtime
