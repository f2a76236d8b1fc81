#include "training/nccl_comm.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <stdexcept>
#include <thread>

#include "kernels/cuda_common.h"
#include "models/cuda_stream.h"

namespace plotforge {

namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return ncclFloat32;
    case at::kBFloat16:
      return ncclBfloat16;
    case at::kHalf:
      return ncclFloat16;
    case at::kDouble:
      return ncclFloat64;
    case at::kLong:
      return ncclInt64;
    case at::kInt:
      return ncclInt32;
    default:
      throw std::runtime_error("NCCL: unsupported tensor type " + std::string(c10::toString(t.scalar_type())));
  }
}

}  // namespace

struct NcclComm::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
  std::chrono::milliseconds timeout{0};
  bool aborted = false;

  // The communicator is non-blocking: each call may return while NCCL is
  // still working; poll its state, bounded by the timeout.
  void settle(ncclResult_t r, const char* what) {
    const auto deadline = Clock::now() + timeout;
    while (r == ncclInProgress) {
      if (Clock::now() > deadline) fail(std::string(what) + " did not complete within the timeout");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      ncclCommGetAsyncError(comm, &r);
    }
    if (r != ncclSuccess) fail(std::string(what) + ": " + ncclGetErrorString(r) + " (" + ncclGetLastError(comm) + ")");
  }

  [[noreturn]] void fail(const std::string& why) {
    if (comm != nullptr && !aborted) {
      aborted = true;
      ncclCommAbort(comm);  // unblocks this rank's kernels that wait on the dead peer
      comm = nullptr;
    }
    throw std::runtime_error("NCCL: " + why);
  }

  // Blocks until `done` has happened on the GPU, checking for asynchronous
  // NCCL errors (a peer that failed) and the timeout.
  void wait_event(cudaEvent_t done, const char* what) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const cudaError_t q = cudaEventQuery(done);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) fail(std::string(what) + ": " + cudaGetErrorString(q));
      ncclResult_t async = ncclSuccess;
      if (comm != nullptr) ncclCommGetAsyncError(comm, &async);
      if (async != ncclSuccess && async != ncclInProgress) {
        fail(std::string(what) + ": " + ncclGetErrorString(async) + " (a peer failed?)");
      }
      if (Clock::now() > deadline)
        fail(std::string(what) + " did not finish within the timeout (a rank died or hung?)");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  // The collective's stream waits for the work queued so far on the
  // current stream (the gradients it reads).
  void after_current_stream() {
    cudaEvent_t ready;
    cudaCheck(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    cudaCheck(cudaEventRecord(ready, current_cuda_stream(device)));
    cudaCheck(cudaStreamWaitEvent(stream, ready, 0));
    cudaEventDestroy(ready);  // safe: destruction waits for nothing, the wait is already enqueued
  }

  template <typename Launch>
  std::unique_ptr<DataParallel::Pending> start(const char* what, const at::Tensor& keep, Launch launch);
};

namespace {

class NcclPending : public DataParallel::Pending {
 public:
  NcclPending(NcclComm::Impl* impl, at::Tensor flat, cudaEvent_t done, const char* what)
      : impl_(impl), flat_(std::move(flat)), done_(done), what_(what) {}
  ~NcclPending() override { cudaEventDestroy(done_); }
  void wait() override {
    impl_->wait_event(done_, what_);
    // Later work on the current stream (averaging, the optimizer) reads
    // the result.
    cudaCheck(cudaStreamWaitEvent(current_cuda_stream(impl_->device), done_, 0));
  }

 private:
  NcclComm::Impl* impl_;
  at::Tensor flat_;  // alive until the collective is done
  cudaEvent_t done_;
  const char* what_;
};

}  // namespace

// Queues the collective `launch` makes after the current stream's work;
// the pending wait keeps `keep` alive until it is done.
template <typename Launch>
std::unique_ptr<DataParallel::Pending> NcclComm::Impl::start(const char* what, const at::Tensor& keep, Launch launch) {
  if (comm == nullptr) throw std::runtime_error("NCCL: the communicator was aborted after an earlier failure");
  after_current_stream();
  settle(launch(), what);
  cudaEvent_t done;
  cudaCheck(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  cudaCheck(cudaEventRecord(done, stream));
  return std::make_unique<NcclPending>(this, keep, done, what);
}

std::string NcclComm::make_unique_id() {
  ncclUniqueId id;
  const ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess) throw std::runtime_error(std::string("ncclGetUniqueId: ") + ncclGetErrorString(r));
  return std::string(id.internal, sizeof(id.internal));
}

NcclComm::NcclComm(const std::string& unique_id, int rank, int world_size, int device,
                   std::chrono::milliseconds timeout)
    : impl_(new Impl) {
  ncclUniqueId id;
  if (unique_id.size() != sizeof(id.internal)) throw std::runtime_error("NCCL: malformed unique id from the store");
  std::copy(unique_id.begin(), unique_id.end(), id.internal);
  impl_->device = device;
  impl_->timeout = timeout;
  cudaCheck(cudaSetDevice(device));
  cudaCheck(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ncclResult_t r = ncclCommInitRankConfig(&impl_->comm, world_size, id, rank, &config);
  impl_->settle(r, "communicator setup (waits for every rank)");
}

NcclComm::~NcclComm() {
  if (impl_->comm != nullptr) {
    if (cudaStreamSynchronize(impl_->stream) == cudaSuccess) {
      ncclCommDestroy(impl_->comm);
    } else {
      ncclCommAbort(impl_->comm);
    }
  }
  if (impl_->stream != nullptr) cudaStreamDestroy(impl_->stream);
}

std::unique_ptr<DataParallel::Pending> NcclComm::allreduce_sum(const at::Tensor& flat) {
  return impl_->start("all-reduce", flat, [&] {
    return ncclAllReduce(flat.data_ptr(), flat.data_ptr(), static_cast<size_t>(flat.numel()), nccl_type(flat), ncclSum,
                         impl_->comm, impl_->stream);
  });
}

void NcclComm::broadcast(const at::Tensor& t, int root) {
  impl_
      ->start("broadcast", t,
              [&] {
                return ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), nccl_type(t), root,
                                     impl_->comm, impl_->stream);
              })
      ->wait();
}

void NcclComm::reduce_scatter_sum(const at::Tensor& flat, const at::Tensor& shard) {
  impl_
      ->start("reduce-scatter", flat,
              [&] {
                return ncclReduceScatter(flat.data_ptr(), shard.data_ptr(), static_cast<size_t>(shard.numel()),
                                         nccl_type(flat), ncclSum, impl_->comm, impl_->stream);
              })
      ->wait();
}

void NcclComm::all_gather(const at::Tensor& shard, const at::Tensor& flat) {
  impl_
      ->start("all-gather", flat,
              [&] {
                return ncclAllGather(shard.data_ptr(), flat.data_ptr(), static_cast<size_t>(shard.numel()),
                                     nccl_type(shard), impl_->comm, impl_->stream);
              })
      ->wait();
}

}  // namespace plotforge
