// What this CPU can do, asked once: the vector extensions the runtime's
// kernels choose between at run time, and the memory the machine has left.
// x86-64 only asks the CPU; elsewhere every flag reads false and the
// portable code paths run.
#pragma once

#include <cstdint>
#include <string>

namespace plotforge {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false;  // vdpbf16ps: bf16 pairs into fp32 sums
  bool avx512_vnni = false;  // vpdpbusd: int8 dot products into int32
  // AMX tiles with bf16 products, and an OS that saves their state: what
  // oneDNN's fast bf16 GEMM needs (models/projection.h).
  bool amx_bf16 = false;
  // AVX-512 as the kernels use it: F, BW, VL and DQ together.
  bool avx512() const { return avx512f && avx512bw && avx512vl && avx512dq; }
  // "avx2 fma f16c avx512f ... " for logs and `PROGRAM system`.
  std::string summary() const;
};

// The running CPU's features (computed once, thread-safe).
const CpuFeatures& cpu_features();

// Cores this process may run on: its affinity mask (taskset, a container's
// cpuset), which std::thread::hardware_concurrency ignores; at least 1.
int usable_cores();

// MemAvailable from /proc/meminfo in bytes, or -1 where it cannot be read.
std::int64_t available_memory_bytes();

// A field of /proc/self/status in MB ("VmRSS", "VmHWM"), or -1.
double process_memory_mb(const std::string& field);

}  // namespace plotforge
