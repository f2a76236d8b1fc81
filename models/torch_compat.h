// Every difference between the libtorch versions plotforge builds against
// lives here: Debian's 1.13 (CPU, in CI) and torch 2.x's bundled libtorch
// (CUDA, on GPU machines).
#pragma once

#include <sstream>
#include <string>
#include <type_traits>

#include <ATen/ATen.h>
#include <torch/version.h>

namespace plotforge::compat {

constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// Fused softmax(q k^T / sqrt(d)) v for [B, H, T, D] tensors with equal head
// counts; top-left causal alignment when is_causal. 1.13 has it only as the
// private at::_scaled_dot_product_attention (returning a tuple).
inline at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                               const c10::optional<at::Tensor>& mask, bool is_causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal);
#else
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v, mask, 0.0, false, is_causal));
#endif
}

// The key of a parameter's entry in a torch::optim optimizer's state map:
// the TensorImpl's printed address in torch 1.13, the pointer itself later.
template <typename Map>
typename Map::key_type optimizer_state_key(const Map&, const at::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream o;
    o << p.unsafeGetTensorImpl();
    return o.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace plotforge::compat

#include <ATen/autocast_mode.h>

namespace plotforge::compat {

// Turns on bf16 autocast for CUDA in its scope. The autocast API moved from
// per-backend functions (1.x) to device-type arguments (2.4+).
class CudaBf16Autocast {
 public:
  explicit CudaBf16Autocast(bool enable) : enabled_(enable) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
  }
  ~CudaBf16Autocast() {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
    at::autocast::clear_cache();
  }
  CudaBf16Autocast(const CudaBf16Autocast&) = delete;
  CudaBf16Autocast& operator=(const CudaBf16Autocast&) = delete;

 private:
  bool enabled_;
};

}  // namespace plotforge::compat
