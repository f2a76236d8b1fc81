// An all-reduce between ranks on one machine through a shared memory
// segment, for the CPU ranks `plotforge train` starts itself
// (training/cpu_ranks.h). Gloo goes through loopback TCP: for the
// shakespeare-char model's 3.4 MB of gradients, 300 steps took 7.8-8.9 s
// over Gloo against 6.8-7.4 s here on the 2-core VM
// (docs/perf/training-cpu.md); here a call is two barriers and three
// passes over memory.
//
// Each call: every rank copies its data into its own slot; barrier; rank r
// sums the r-th part of the elements over the slots in rank order (rank 0's
// + rank 1's + ...) into the result; barrier; every rank copies the result
// out. The sum's order never depends on timing, so runs stay bit for bit
// reproducible. Data longer than a slot goes through in slot-sized pieces.
//
// The segment: rank 0 creates it (shm_open, a name unique to its pid) and
// publishes its name through the rendezvous store; once every rank has it
// mapped, rank 0 unlinks the name, so nothing is left in /dev/shm however
// the ranks end. A barrier that waits longer than `timeout` throws
// std::runtime_error (a rank died or hung), which DataParallel's callers
// turn into their usual diagnosis.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace c10d {
class Store;
}

namespace plotforge {

class ShmAllReduce {
 public:
  // Every rank of the group constructs one, in the same order relative to
  // its other uses of `store`. Throws std::runtime_error if the segment
  // cannot be made or opened.
  ShmAllReduce(c10d::Store& store, int rank, int world_size, std::chrono::milliseconds timeout);
  ~ShmAllReduce();
  ShmAllReduce(const ShmAllReduce&) = delete;
  ShmAllReduce& operator=(const ShmAllReduce&) = delete;

  // In place: every rank's `data` becomes the element-wise sum over ranks.
  void sum(float* data, std::size_t count);
  void sum(double* data, std::size_t count);

 private:
  template <typename T>
  void sum_impl(T* data, std::size_t count);
  void barrier();

  int rank_, world_;
  std::chrono::milliseconds timeout_;
  std::size_t slot_bytes_ = 0, map_bytes_ = 0;
  void* map_ = nullptr;
  std::uint32_t generation_ = 0;  // barriers this rank has passed
};

}  // namespace plotforge
