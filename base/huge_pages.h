// Large buffers the CPU streams (a model's weights, the KV cache) on 2 MB
// transparent huge pages.
//
// A decode step reads every weight once. On 4 KB pages that is a TLB miss
// every 4 KB, and in a virtual machine each miss walks two page tables (the
// guest's, then the host's for each of its entries). On the development VM
// (docs/perf/runtime-cpu.md, 2026-12-03 "huge pages") batch-1 decode of the
// 176M model went from 100-118 to 118-127 tokens/s in q8_0 and from 61-71
// to 76-80 in f16 once its converted weights sat on 2 MB pages.
//
// Linux backs memory with huge pages where asked (madvise MADV_HUGEPAGE)
// when /sys/kernel/mm/transparent_hugepage/enabled reads "madvise" (the
// usual default) or "always"; file mappings too where the file system
// caches large folios (ext4 and xfs on recent kernels). Elsewhere the
// advice changes nothing and memory stays on 4 KB pages, as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace plotforge {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Asks for huge pages over [p, p + bytes) (an anonymous or file mapping).
// Advice only: failure or an unsupported kernel leaves the pages as they are.
void advise_huge_pages(void* p, std::size_t bytes);

// Whether the kernel gives huge pages to memory that asks for them
// (transparent_hugepage/enabled is "madvise" or "always").
bool huge_pages_available();

// The process's resident memory on huge pages, in bytes: anonymous memory
// (AnonHugePages) and file mappings (FilePmdMapped), from
// /proc/self/smaps_rollup; 0 where that cannot be read.
std::size_t resident_on_huge_pages();

// Memory handed out in slices from chunks of address space that start on a
// 2 MB boundary and ask for huge pages. A slice starts on a 64-byte line and
// reads zero until written; it lives as long as the arena. A chunk's pages
// become resident only as they are written, so the unused tail of a chunk
// costs at most one huge page. Not thread-safe.
class HugePageArena {
 public:
  HugePageArena() = default;
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;
  ~HugePageArena();

  // `bytes` zeroed bytes on a 64-byte line. Throws std::bad_alloc.
  std::uint8_t* allocate(std::size_t bytes);

 private:
  struct Chunk {
    std::uint8_t* base;
    std::size_t size, used;
  };
  std::vector<Chunk> chunks_;
};

}  // namespace plotforge
