#include "base/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace plotforge {

void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // blocks under 1 GB from the heap (fixes the threshold)
  mallopt(M_TRIM_THRESHOLD, -1);       // never give the heap's top back (as an unsigned: the maximum)
  mallopt(M_TOP_PAD, 64 << 20);        // grow the heap 64 MB at a time
#endif
}

}  // namespace plotforge
