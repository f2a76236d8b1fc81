// The Transformer's linear maps, y = x w^T, and how they multiply on the
// CPU: in float32 (OpenBLAS), or as bfloat16 products with float32 master
// weights (oneDNN through libtorch), the way PyTorch's
// torch.set_float32_matmul_precision("medium") and CPU autocast do.
//
// bf16 mode, for a CPU float32 x and w: x and w are rounded to bf16
// (kernels/cpu_bf16.h), multiplied with float32 sums, and the product is
// rounded to bf16 once more and widened back to float32; the backward
// likewise (dx = dy w, dw = dy^T x in bf16, widened). So each output carries
// bf16's 8-bit significand: relative error about 2^-8 per product, against
// OpenBLAS's 2^-24. Weights, their gradients, the optimizer state and
// everything between the products stay float32.
//
// Why it is worth it, measured (docs/perf/training-cpu.md): on a CPU with
// AMX, oneDNN's bf16 GEMM is 3x OpenBLAS's sgemm at the shakespeare-char
// shapes; without AMX (AVX-512 BF16 alone) oneDNN 2.6's bf16 GEMM is 2x
// *slower* than sgemm, and without AVX-512 BF16 6x slower. Hence auto picks
// bf16 only where the CPU has AMX.
//
// The mode is one process-wide setting, as torch's own is: `plotforge
// train` sets it (--cpu-matmul) before it builds the model; everything
// else (eval, generate, tests) runs float32 unless it sets it too.
#pragma once

#include <string>

#include <ATen/Tensor.h>

#include "base/cpu_features.h"

namespace plotforge {

enum class CpuMatmul { kFloat32, kBFloat16 };

void set_cpu_matmul(CpuMatmul m);
CpuMatmul cpu_matmul();

// y = x w^T for x [..., in] and w [out, in], in the current CpuMatmul
// where x is a CPU float32 tensor; otherwise torch's linear. Differentiable
// in x and w.
at::Tensor project(const at::Tensor& x, const at::Tensor& w);

// --cpu-matmul: "fp32", "bf16", or "auto" (bf16 where the CPU has AMX and
// libtorch has oneDNN, fp32 elsewhere); `why` says which applied, for the
// run's header. Throws InputError naming --cpu-matmul for any other value,
// and for "bf16" where libtorch has no oneDNN.
struct CpuMatmulChoice {
  CpuMatmul mode;
  std::string why;
};
CpuMatmulChoice choose_cpu_matmul(const std::string& setting, const CpuFeatures& cpu, bool libtorch_has_onednn);
bool libtorch_has_onednn();

}  // namespace plotforge
