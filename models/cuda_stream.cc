#include "models/cuda_stream.h"

#if PLOTFORGE_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace plotforge {

cudaStream_t current_cuda_stream(int device) {
#if PLOTFORGE_TORCH_CUDA
  return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
#else
  (void)device;
  return nullptr;
#endif
}

}  // namespace plotforge
