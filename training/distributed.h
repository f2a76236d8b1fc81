// Data parallelism across processes: rendezvous from the launcher's
// environment through c10d's TCPStore, then gradient averaging: Gloo
// (c10d's ProcessGroupGloo) on CPUs, one NCCL communicator on GPUs
// (nccl_comm.h; its unique id travels through the same store).
//
// Launchers: torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT; SLURM's srun sets SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID
// and SLURM_NODELIST (MASTER_ADDR wins over the list's first host). With
// none of these a process trains alone.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

namespace plotforge {

struct LaunchEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "none";  // none | torchrun | slurm | plotforge (training/cpu_ranks.h)
  bool agent_store = false;       // the launcher hosts the store (torchrun)
  int restart_count = 0;          // torchrun's restart attempt
};

// Throws InputError naming the variable when one is malformed.
LaunchEnv launch_env_from(const std::map<std::string, std::string>& env);
LaunchEnv launch_env();  // from the process environment
// "node[01-04,07],gpu2" -> "node01"; "a,b" -> "a".
std::string first_slurm_host(const std::string& nodelist);

class DataParallel {
 public:
  // Rendezvous through a TCPStore on master_addr:master_port (rank 0 hosts
  // it). Collectives that do not finish within `timeout` throw. With
  // cuda_device >= 0 the collectives run over NCCL on that GPU and take
  // tensors on it; otherwise over Gloo, on CPU tensors.
  DataParallel(const LaunchEnv& env, std::chrono::milliseconds timeout, int cuda_device = -1);
  ~DataParallel();
  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  const char* backend() const;  // "nccl", "gloo" or "shared memory (gloo for the rest)"
  // All-reduces of CPU tensors meet in shared memory (training/shm_allreduce.h),
  // synchronously: allreduce_async has finished when it returns.
  bool shares_memory() const;

  // Averages the gradients over ranks, in flat buckets of about bucket_bytes.
  void average_gradients(const std::vector<at::Tensor>& params, std::size_t bucket_bytes);
  double sum(double value);
  // Replaces `t` on every rank with root's.
  void broadcast(at::Tensor& t, int root);
  // `flat` holds world_size equal shards; sums it across ranks and leaves
  // this rank's shard of the sum in `shard`. `flat` is used as scratch.
  // NCCL: ncclReduceScatter. Gloo (which in torch 1.13 has no
  // reduce-scatter): one reduce per shard, to the rank that owns it.
  void reduce_scatter(const at::Tensor& flat, at::Tensor& shard);
  // Fills `flat` with every rank's `shard`, in rank order.
  void all_gather(const at::Tensor& shard, at::Tensor& flat);

  // Starts an asynchronous all-reduce (sum) of `flat` in place.
  class Pending;
  std::unique_ptr<Pending> allreduce_async(at::Tensor flat);

  // After a failed collective: which ranks stopped their heartbeat (every
  // rank bumps a counter in the store a few times a second), e.g. "rank 1
  // stopped responding", or why that cannot be told.
  std::string diagnose_failure();

 private:
  struct Impl;
  LaunchEnv env_;
  std::unique_ptr<Impl> impl_;
};

// A pending all-reduce; wait() blocks until `flat` holds the sum.
class DataParallel::Pending {
 public:
  virtual ~Pending() = default;
  virtual void wait() = 0;
};

// Averages gradients across ranks while backward is still running, as
// PyTorch's DDP does: parameters are grouped into buckets of about
// bucket_bytes in reverse order (the order backward reaches them); a hook
// after each parameter's gradient accumulation marks it ready, and once all
// of a bucket's parameters are ready its all-reduce starts, asynchronously,
// while backward goes on with earlier layers. Under gradient accumulation
// only the last micro-batch's backward communicates.
class GradientReducer {
 public:
  GradientReducer(DataParallel& dp, std::vector<at::Tensor> params, std::size_t bucket_bytes);
  ~GradientReducer();
  // Before each backward: whether this one ends the step (and communicates).
  void prepare(bool last_micro_batch);
  // After the last backward: starts the buckets no hook started (parameters
  // without a gradient count as zeros), waits for all, and writes the
  // averages back into the gradients.
  void finish();
  int buckets() const;
  // Of the last step's buckets, how many started during backward.
  int launched_during_backward() const { return launched_in_backward_; }

 private:
  struct Bucket;
  void mark_ready(std::size_t param);
  void launch(Bucket& b);

  DataParallel& dp_;
  std::vector<at::Tensor> params_;
  std::vector<std::size_t> bucket_of_;
  std::vector<Bucket> buckets_;
  std::shared_ptr<GradientReducer*> alive_;          // cleared on destruction; the hooks check it
  std::vector<std::shared_ptr<void>> accumulators_;  // keeps the hooked autograd nodes alive
  std::mutex mu_;
  bool armed_ = false;
  int launched_in_backward_ = 0;
};

}  // namespace plotforge
