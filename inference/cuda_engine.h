// The runtime's CUDA backend: the same forward pass as CpuEngine, on one GPU.
//
// Weights are uploaded once as bf16; the residual stream is float32 and each
// projection is one cuBLAS GEMM (bf16 inputs, float32 accumulation and
// output; the residual adds ride on the GEMM's beta = 1). The K/V of every
// cache block live on the GPU in the layout kernels/attention.h's paged
// decode kernel reads, indexed by the BlockPool's block ids (the pool only
// counts references; branching copies blocks on the GPU). Every new token,
// prefill chunk or decode step alike, is one query row of the paged decode
// kernel over its sequence's blocks.
//
// Built whenever CUDA is present; it has not yet run on a GPU
// (docs/perf/runtime-h200.md).
#pragma once

#include <memory>
#include <vector>

#include "inference/engine.h"

namespace plotforge::runtime {

class CudaEngine final : public Engine {
 public:
  // Throws InputError when it cannot run the model: no usable GPU, a VAE
  // bundle (its latent memory slot is CPU-only for now), or a head_dim
  // other than 64 or 128.
  CudaEngine(const Model& model, BlockPool& pool, int device = 0);
  ~CudaEngine() override;
  std::vector<float> forward(std::vector<BatchItem>& batch) override;

  // The GPU's device-to-device copy bandwidth, bytes read plus written, best
  // of 5 over 1 GiB: the decode roofline's denominator on this backend.
  static double copy_bandwidth(int device = 0);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace plotforge::runtime
