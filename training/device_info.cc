#include "training/device_info.h"

#include <utility>
#include <vector>

#ifdef PLOTFORGE_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace plotforge {

std::string cuda_device_name() {
#ifdef PLOTFORGE_HAVE_CUDA
  int device = 0;
  cudaDeviceProp prop;
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess) return prop.name;
#endif
  return "";
}

double peak_bf16_flops(const std::string& name) {
  // Dense bf16 tensor-core peaks from the vendors' datasheets (no sparsity).
  // Longer names first: "H100 PCIe" must win over "H100".
  static const std::vector<std::pair<std::string, double>> table = {
      {"H100 PCIe", 756e12}, {"H100 NVL", 835e12}, {"H100", 989e12},    {"H200", 989e12}, {"GH200", 989e12},
      {"B200", 2250e12},     {"A100", 312e12},     {"A10G", 70e12},     {"A10", 125e12},  {"L40S", 362e12},
      {"L4", 121e12},        {"RTX 4090", 165e12}, {"RTX 3090", 71e12}, {"V100", 125e12},
  };
  for (const auto& [key, flops] : table) {
    if (name.find(key) != std::string::npos) return flops;
  }
  return 0;
}

}  // namespace plotforge
