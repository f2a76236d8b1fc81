#include "base/huge_pages.h"

#include <sys/mman.h>

#include <algorithm>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include "base/aligned.h"

namespace plotforge {

namespace {
// Address space per chunk: a model's matrices are 0.5-10 MB each, so one
// chunk holds dozens of them and few chunks end with an unused tail.
constexpr std::size_t kChunk = std::size_t{64} << 20;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }
}  // namespace

void advise_huge_pages(void* p, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  // madvise wants a page-aligned start: cover the whole pages inside.
  const auto page = static_cast<std::uintptr_t>(4096);
  const auto begin = round_up(reinterpret_cast<std::uintptr_t>(p), page);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

bool huge_pages_available() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(f, s);
  return s.find("[always]") != std::string::npos || s.find("[madvise]") != std::string::npos;
}

std::size_t resident_on_huge_pages() {
  std::ifstream f("/proc/self/smaps_rollup");
  std::string line;
  std::size_t kb = 0;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    std::size_t value = 0;
    if (in >> key >> value && (key == "AnonHugePages:" || key == "FilePmdMapped:")) kb += value;
  }
  return kb * 1024;
}

HugePageArena::~HugePageArena() {
  for (const Chunk& c : chunks_) munmap(c.base, c.size);
}

std::uint8_t* HugePageArena::allocate(std::size_t bytes) {
  bytes = round_up(std::max<std::size_t>(bytes, 1), kCacheLine);
  if (chunks_.empty() || chunks_.back().size - chunks_.back().used < bytes) {
    // Map a huge page more than the chunk and trim both ends, so that the
    // chunk starts on a 2 MB boundary (only whole, aligned 2 MB extents can
    // be huge pages).
    const std::size_t size = round_up(std::max(bytes, kChunk), kHugePage);
    void* m = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(m);
    const auto base = round_up(start, kHugePage);
    if (base > start) munmap(m, base - start);
    if (start + kHugePage > base) munmap(reinterpret_cast<void*>(base + size), start + kHugePage - base);
    advise_huge_pages(reinterpret_cast<void*>(base), size);
    chunks_.push_back({reinterpret_cast<std::uint8_t*>(base), size, 0});
  }
  Chunk& c = chunks_.back();
  std::uint8_t* p = c.base + c.used;
  c.used += bytes;
  return p;
}

}  // namespace plotforge
