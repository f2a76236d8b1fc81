#include "models/projection.h"

#include <atomic>

#include <ATen/Context.h>
#include <torch/autograd.h>
#include <torch/nn/functional/linear.h>

#include "base/error.h"
#include "kernels/cpu_bf16.h"

namespace plotforge {

namespace {

std::atomic<CpuMatmul> g_mode{CpuMatmul::kFloat32};

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

at::Tensor narrow_to_bf16(const at::Tensor& x_in) {
  const auto x = x_in.contiguous();
  auto out = at::empty(x.sizes(), x.options().dtype(at::kBFloat16));
  kernels::floats_to_bf16(x.data_ptr<float>(), static_cast<std::size_t>(x.numel()),
                          reinterpret_cast<std::uint16_t*>(out.data_ptr<at::BFloat16>()));
  return out;
}

at::Tensor widen(const at::Tensor& b) {
  auto out = at::empty(b.sizes(), b.options().dtype(at::kFloat));
  kernels::bf16_to_floats(reinterpret_cast<const std::uint16_t*>(b.data_ptr<at::BFloat16>()),
                          static_cast<std::size_t>(b.numel()), out.data_ptr<float>());
  return out;
}

// One node for the whole product: the casts around it cost no dispatch of
// their own, and only the bf16 copies of x and w are kept for the backward.
class Bf16LinearFn : public torch::autograd::Function<Bf16LinearFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w) {
    const int64_t in = x.size(-1);
    const auto xb = narrow_to_bf16(x).view({-1, in});
    const auto wb = narrow_to_bf16(w);
    ctx->save_for_backward({xb, wb});
    auto sizes = x.sizes().vec();
    sizes.back() = w.size(0);
    return widen(at::mm(xb, wb.t())).view(sizes);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& xb = saved[0];
    const auto& wb = saved[1];
    const auto& dy = grads[0];
    const auto gb = narrow_to_bf16(dy).view({-1, wb.size(0)});
    auto dx_sizes = dy.sizes().vec();
    dx_sizes.back() = wb.size(1);
    at::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) dx = widen(at::mm(gb, wb)).view(dx_sizes);
    if (ctx->needs_input_grad(1)) dw = widen(at::mm(gb.t(), xb));
    return {dx, dw};
  }
};

}  // namespace

void set_cpu_matmul(CpuMatmul m) { g_mode.store(m); }
CpuMatmul cpu_matmul() { return g_mode.load(); }

at::Tensor project(const at::Tensor& x, const at::Tensor& w) {
  if (g_mode.load(std::memory_order_relaxed) == CpuMatmul::kBFloat16 && x.device().is_cpu() &&
      x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat) {
    return Bf16LinearFn::apply(x, w);
  }
  return torch::nn::functional::linear(x, w);
}

bool libtorch_has_onednn() { return at::hasMKLDNN(); }

CpuMatmulChoice choose_cpu_matmul(const std::string& setting, const CpuFeatures& cpu, bool has_onednn) {
  if (setting == "fp32") return {CpuMatmul::kFloat32, "set by --cpu-matmul"};
  if (setting == "bf16") {
    if (!has_onednn)
      throw InputError(
          "--cpu-matmul bf16: this libtorch was built without oneDNN, which the bf16 products need "
          "(use fp32 or auto)");
    return {CpuMatmul::kBFloat16, "set by --cpu-matmul"};
  }
  if (setting != "auto") throw InputError("--cpu-matmul: '" + setting + "' is not auto, fp32 or bf16");
  if (!has_onednn) return {CpuMatmul::kFloat32, "auto: libtorch has no oneDNN"};
  if (!cpu.amx_bf16) return {CpuMatmul::kFloat32, "auto: no AMX on this CPU, where bf16 GEMMs are slower than fp32"};
  return {CpuMatmul::kBFloat16, "auto: AMX on this CPU"};
}

}  // namespace plotforge
