// Memory aligned to a cache line, for buffers the CPU kernels stream.
//
// A 64-byte AVX-512 load from an address that is not a multiple of 64
// touches two cache lines, and a kernel that runs from the L1/L2 caches
// (a matrix product over many rows of activations) pays for it: the
// runtime's float32 tile did 43 against 59 G multiply-adds/s on one core
// when its weights sat 48 bytes off a line and its activations 16
// (bench/projection_bench, docs/perf/runtime-cpu.md). glibc's malloc only
// promises 16 bytes, and a large block (its own mmap) starts 16 bytes past
// a page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace plotforge {

constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t bytes = (n * sizeof(T) + kCacheLine - 1) / kCacheLine * kCacheLine;
    void* p = std::aligned_alloc(kCacheLine, bytes == 0 ? kCacheLine : bytes);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) { std::free(p); }
  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const CacheAlignedAllocator<U>&) const {
    return false;
  }
};

// A std::vector whose data() is a multiple of kCacheLine.
template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

inline bool cache_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kCacheLine == 0; }

}  // namespace plotforge
