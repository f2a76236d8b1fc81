// NCCL for data parallelism on GPUs: one communicator over all ranks, each
// rank on its LOCAL_RANK device. DataParallel (distributed.h) uses it when
// the trainer runs on CUDA; nothing else needs to.
//
// Collectives run on the communicator's own stream, after the work already
// queued on libtorch's current stream, so gradient buckets all-reduce while
// backward computes the next ones. Every wait is bounded: a rank that dies or
// hangs makes the others throw (NCCL's communicator is aborted) within the
// timeout instead of blocking forever.
//
// Built when CUDA and NCCL are found (PLOTFORGE_HAVE_NCCL). It has not yet
// run on a GPU (docs/distributed.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <ATen/Tensor.h>

#include "training/distributed.h"

namespace plotforge {

class NcclComm {
 public:
  // Rank 0 makes the id and shares it through the rendezvous store; every
  // rank passes the same bytes to the constructor.
  static std::string make_unique_id();

  NcclComm(const std::string& unique_id, int rank, int world_size, int device, std::chrono::milliseconds timeout);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  // Starts summing `flat` (contiguous, on this rank's device) across ranks,
  // in place. wait() returns once it is done, with the current stream
  // ordered after it.
  std::unique_ptr<DataParallel::Pending> allreduce_sum(const at::Tensor& flat);
  // Replaces `t` (contiguous, on this rank's device) with root's; returns
  // when done.
  void broadcast(const at::Tensor& t, int root);
  // ncclReduceScatter (sum) of `flat` into `shard`, and ncclAllGather of
  // `shard` into `flat` (flat = world_size shards); both return when done.
  void reduce_scatter_sum(const at::Tensor& flat, const at::Tensor& shard);
  void all_gather(const at::Tensor& shard, const at::Tensor& flat);

  struct Impl;  // defined in nccl_comm.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace plotforge
