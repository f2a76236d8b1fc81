// The GPU helpers every CUDA caller shares (the kernels' tests and
// benchmarks, the runtime's CUDA engine, NCCL data parallelism, the autograd
// function): one error check that names the call, file and line, and one
// device buffer. After llm.c's llmc/cuda_common.h.
//
// Errors throw std::runtime_error: a CUDA failure is a bug or a broken
// machine, not input a user can fix (that is InputError's job), and the
// programs' front ends report it as an internal error.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace plotforge::kernels {

[[noreturn]] inline void cuda_fail(const std::string& error, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error: ") + error + " in " + call + " at " + file + ":" +
                           std::to_string(line));
}

inline void cuda_check(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) cuda_fail(cudaGetErrorString(e), call, file, line);
}

// cuBLAS statuses are plain enum values; taken as int so this header does not
// need cuBLAS.
inline void cublas_check(int status, const char* call, const char* file, int line) {
  if (status != 0) cuda_fail("cuBLAS status " + std::to_string(status), call, file, line);
}

#define cudaCheck(call) ::plotforge::kernels::cuda_check((call), #call, __FILE__, __LINE__)
#define cublasCheck(call) ::plotforge::kernels::cublas_check(static_cast<int>(call), #call, __FILE__, __LINE__)

inline bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// A device allocation that only grows: reserve(n) keeps the memory when it
// already holds n bytes and otherwise frees it and allocates n (contents are
// not kept). Movable, not copyable.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) { reserve(bytes); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(p_); }

  void* reserve(std::size_t bytes) {
    if (bytes > bytes_ || p_ == nullptr) {
      cudaFree(p_);
      p_ = nullptr;
      bytes_ = 0;
      cudaCheck(cudaMalloc(&p_, bytes ? bytes : 1));
      bytes_ = bytes;
    }
    return p_;
  }
  void* get() const { return p_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  std::size_t bytes() const { return bytes_; }

  // Whole-buffer copies (synchronous), and a fill with 0xFF bytes: NaN in
  // bf16, fp16 and fp32, so a test sees any element a kernel did not write.
  void upload(const void* src) { cudaCheck(cudaMemcpy(p_, src, bytes_, cudaMemcpyHostToDevice)); }
  void download(void* dst) const { cudaCheck(cudaMemcpy(dst, p_, bytes_, cudaMemcpyDeviceToHost)); }
  void poison() { cudaCheck(cudaMemset(p_, 0xFF, bytes_)); }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace plotforge::kernels
