// What the trainer needs to know about the device: its name and its peak
// dense bf16 rate, for MFU. The table is keyed by the name the CUDA driver
// reports; --peak-flops overrides it for anything not listed.
#pragma once

#include <string>

namespace plotforge {

std::string cuda_device_name();                          // "" without CUDA or a GPU
double peak_bf16_flops(const std::string& device_name);  // 0 when unknown
}  // namespace plotforge
