// Keeping freed memory in the process, for programs that allocate and free
// the same large buffers over and over (a training step on the CPU).
//
// glibc's malloc serves a block of 128 KB or more (a threshold it raises as
// such blocks are freed, up to 32 MB) with its own mmap, and gives it back
// to the kernel when freed; the next step's block of the same size then
// takes one page fault per 4 KB page on first write. A small model's CPU
// training step allocates and frees about 10 MB of activations and
// gradients this way, ~2,500 faults per step, which cost about a tenth of
// the step on a VM (docs/perf/training-cpu.md). Serving every block from the
// heap and never trimming it keeps those pages mapped: the process's
// resident memory stays at its peak instead of falling between steps.
#pragma once

namespace plotforge {

// Call once, before the allocations it is for. A no-op where the C library
// is not glibc.
void keep_freed_memory();

}  // namespace plotforge
