// libtorch's current CUDA stream, for code that launches our own kernels or
// NCCL beside libtorch's ops. Exists in builds with CUDA only.
//
// With a CUDA libtorch it is c10's current stream for the device. A CPU-only
// libtorch (Debian's, in CI) has no CUDA tensors, and its only stream would
// be the legacy default one, which is what this then returns.
#pragma once

#include <cuda_runtime.h>

namespace plotforge {

cudaStream_t current_cuda_stream(int device);

}  // namespace plotforge
