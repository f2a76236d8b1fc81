#include "training/distributed.h"

#include <atomic>
#include <cstdlib>
#include <thread>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "base/error.h"
#include "training/shm_allreduce.h"

#if PLOTFORGE_HAVE_NCCL
#include "training/nccl_comm.h"
#endif

extern char** environ;

namespace plotforge {

namespace {

int int_var(const std::map<std::string, std::string>& env, const std::string& name, int fallback) {
  const auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return fallback;
  try {
    std::size_t used = 0;
    const int v = std::stoi(it->second, &used);
    if (used != it->second.size() || v < 0) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw InputError("environment variable " + name + "='" + it->second + "' is not a non-negative integer");
  }
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  std::size_t end = nodelist.find_first_of(",[");
  std::string host = nodelist.substr(0, end);
  if (end != std::string::npos && nodelist[end] == '[') {
    const std::size_t close = nodelist.find(']', end);
    const std::string range =
        nodelist.substr(end + 1, close == std::string::npos ? std::string::npos : close - end - 1);
    host += range.substr(0, range.find_first_of(",-"));
  }
  return host;
}

LaunchEnv launch_env_from(const std::map<std::string, std::string>& env) {
  LaunchEnv e;
  auto has = [&](const char* k) { return env.count(k) && !env.at(k).empty(); };
  if (has("RANK") || has("WORLD_SIZE")) {
    e.launcher = "torchrun";
    e.rank = int_var(env, "RANK", 0);
    e.world_size = int_var(env, "WORLD_SIZE", 1);
    e.local_rank = int_var(env, "LOCAL_RANK", 0);
    e.agent_store = has("TORCHELASTIC_USE_AGENT_STORE") && env.at("TORCHELASTIC_USE_AGENT_STORE") == "True";
    e.restart_count = int_var(env, "TORCHELASTIC_RESTART_COUNT", 0);
    // Ranks that `plotforge train` started itself (training/cpu_ranks.h):
    // it hosts the store, as torchrun's agent does.
    if (has("PLOTFORGE_LAUNCHER")) {
      e.launcher = env.at("PLOTFORGE_LAUNCHER");
      e.agent_store = true;
    }
  } else if (has("SLURM_PROCID") && has("SLURM_NTASKS")) {
    e.launcher = "slurm";
    e.rank = int_var(env, "SLURM_PROCID", 0);
    e.world_size = int_var(env, "SLURM_NTASKS", 1);
    e.local_rank = int_var(env, "SLURM_LOCALID", 0);
    if (has("SLURM_NODELIST")) e.master_addr = first_slurm_host(env.at("SLURM_NODELIST"));
  }
  if (has("MASTER_ADDR")) e.master_addr = env.at("MASTER_ADDR");
  e.master_port = int_var(env, "MASTER_PORT", e.master_port);
  if (e.world_size < 1 || e.rank >= e.world_size) {
    throw InputError("rank " + std::to_string(e.rank) + " is outside world size " + std::to_string(e.world_size) +
                     " (check RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS)");
  }
  if (e.master_port < 1 || e.master_port > 65535) throw InputError("MASTER_PORT must be a TCP port number");
  return e;
}

LaunchEnv launch_env() {
  std::map<std::string, std::string> env;
  for (char** p = environ; *p; ++p) {
    const std::string kv(*p);
    const std::size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return launch_env_from(env);
}

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;          // the TCPStore, under this attempt's prefix
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;  // on CPUs
#if PLOTFORGE_HAVE_NCCL
  std::unique_ptr<NcclComm> nccl;  // on GPUs
#endif
  int cuda_device = -1;
  // Ranks that plotforge train started on this machine: all-reduces of CPU
  // tensors go through shared memory instead of Gloo's loopback TCP.
  std::unique_ptr<ShmAllReduce> shm;
  std::thread heartbeat;
  std::atomic<bool> stop{false};
};

namespace {
std::string heartbeat_key(int rank) { return "heartbeat/" + std::to_string(rank); }
}  // namespace

DataParallel::DataParallel(const LaunchEnv& env, std::chrono::milliseconds timeout, int cuda_device)
    : env_(env), impl_(new Impl) {
#if !PLOTFORGE_HAVE_NCCL
  if (cuda_device >= 0) {
    throw InputError(
        "data parallelism on GPUs needs NCCL, and this build has none (rebuild where CUDA and NCCL are "
        "found, or train with --device cpu over Gloo)");
  }
#endif
  impl_->cuda_device = cuda_device;
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = env.rank == 0 && !env.agent_store;
  so.numWorkers = env.world_size;
  so.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::PrefixStore>("plotforge/attempt_" + std::to_string(env.restart_count),
                                                          c10::make_intrusive<c10d::TCPStore>(env.master_addr, so));
    if (cuda_device >= 0) {
#if PLOTFORGE_HAVE_NCCL
      // Rank 0 makes the communicator's id; the others read it from the
      // store (get waits for it, up to the timeout).
      const std::string key = "nccl_unique_id";
      if (env.rank == 0) {
        const std::string id = NcclComm::make_unique_id();
        impl_->store->set(key, std::vector<std::uint8_t>(id.begin(), id.end()));
      }
      const std::vector<std::uint8_t> id = impl_->store->get(key);
      impl_->nccl =
          std::make_unique<NcclComm>(std::string(id.begin(), id.end()), env.rank, env.world_size, cuda_device, timeout);
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // On one machine (a loopback master) talk over loopback; across
      // machines bind to this host's own address.
      const bool local = env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0;
      options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                       : c10d::ProcessGroupGloo::createDefaultDevice());
      options->threads = 1;
      impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
      if (env.launcher == "plotforge")
        impl_->shm = std::make_unique<ShmAllReduce>(*impl_->store, env.rank, env.world_size, timeout);
    }
    // The store client serializes its operations, so a thread can share it.
    impl_->heartbeat = std::thread([this] {
      while (!impl_->stop) {
        try {
          impl_->store->add(heartbeat_key(env_.rank), 1);
        } catch (const std::exception&) {
          return;  // the store is gone; diagnose_failure() will say so
        }
        for (int i = 0; i < 4 && !impl_->stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  } catch (const std::exception& e) {
    throw InputError("rank " + std::to_string(env.rank) + ": rendezvous at " + env.master_addr + ":" +
                     std::to_string(env.master_port) + " failed (" + std::string(e.what()).substr(0, 200) +
                     "); check MASTER_ADDR/MASTER_PORT and that every rank started");
  }
}

bool DataParallel::shares_memory() const { return impl_->shm != nullptr; }

const char* DataParallel::backend() const {
  if (impl_->cuda_device >= 0) return "nccl";
  return impl_->shm ? "shared memory (gloo for the rest)" : "gloo";
}

DataParallel::~DataParallel() {
  impl_->stop = true;
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

std::string DataParallel::diagnose_failure() {
  try {
    std::vector<std::int64_t> before(env_.world_size), after(env_.world_size);
    for (int r = 0; r < env_.world_size; ++r) before[r] = impl_->store->add(heartbeat_key(r), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    for (int r = 0; r < env_.world_size; ++r) after[r] = impl_->store->add(heartbeat_key(r), 0);
    std::string dead;
    for (int r = 0; r < env_.world_size; ++r) {
      if (r != env_.rank && after[r] == before[r]) dead += (dead.empty() ? "rank " : ", rank ") + std::to_string(r);
    }
    return dead.empty() ? "every rank's heartbeat is alive, so one is hung in a collective or the network failed"
                        : dead + " stopped responding (died or was killed)";
  } catch (const std::exception&) {
    if (env_.agent_store) {
      return "the launcher's rendezvous store is unreachable (" +
             std::string(env_.launcher == "torchrun" ? "torchrun's agent"
                                                     : "the plotforge train that started the ranks") +
             " died?)";
    }
    return env_.rank == 0 ? "the rendezvous store is unusable"
                          : "rank 0, which hosts the rendezvous store, is unreachable (died or was killed)";
  }
}

void DataParallel::average_gradients(const std::vector<at::Tensor>& params, std::size_t bucket_bytes) {
  std::vector<at::Tensor> bucket;
  std::size_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<at::Tensor> flat = {at::cat(bucket)};
    allreduce_async(flat[0])->wait();
    flat[0].div_(env_.world_size);
    std::int64_t offset = 0;
    // Copy the averaged values back into each gradient.
    for (auto& view : bucket) {
      const std::int64_t n = view.numel();
      view.copy_(flat[0].narrow(0, offset, n));
      offset += n;
    }
    bucket.clear();
    bytes = 0;
  };
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    bucket.push_back(p.grad().view(-1));
    bytes += p.grad().numel() * p.grad().element_size();
    if (bytes >= bucket_bytes) flush();
  }
  flush();
}

namespace {

class DonePending : public DataParallel::Pending {
 public:
  void wait() override {}
};

class GlooPending : public DataParallel::Pending {
 public:
  explicit GlooPending(c10::intrusive_ptr<c10d::Work> work) : work_(std::move(work)) {}
  void wait() override { work_->wait(); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
};

}  // namespace

std::unique_ptr<DataParallel::Pending> DataParallel::allreduce_async(at::Tensor flat) {
#if PLOTFORGE_HAVE_NCCL
  if (impl_->nccl) return impl_->nccl->allreduce_sum(flat);
#endif
  if (impl_->shm && flat.device().is_cpu() && flat.is_contiguous()) {
    // Done before returning: the ranks meet at its barriers in the order
    // they call it, which is the same on every rank.
    if (flat.scalar_type() == at::kFloat) {
      impl_->shm->sum(flat.data_ptr<float>(), static_cast<std::size_t>(flat.numel()));
      return std::make_unique<DonePending>();
    }
    if (flat.scalar_type() == at::kDouble) {
      impl_->shm->sum(flat.data_ptr<double>(), static_cast<std::size_t>(flat.numel()));
      return std::make_unique<DonePending>();
    }
  }
  std::vector<at::Tensor> t = {std::move(flat)};
  return std::make_unique<GlooPending>(impl_->pg->allreduce(t));
}

struct GradientReducer::Bucket {
  std::vector<std::size_t> params;
  std::size_t remaining = 0;
  at::Tensor flat;
  std::unique_ptr<DataParallel::Pending> pending;
};

GradientReducer::GradientReducer(DataParallel& dp, std::vector<at::Tensor> params, std::size_t bucket_bytes)
    : dp_(dp),
      params_(std::move(params)),
      bucket_of_(params_.size()),
      alive_(std::make_shared<GradientReducer*>(this)) {
  std::size_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {
    if (buckets_.empty() || bytes >= bucket_bytes) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().params.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += params_[k].numel() * params_[k].element_size();
  }
  for (std::size_t k = 0; k < params_.size(); ++k) {
    auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
    // The hook outlives this reducer on the autograd node; `alive` tells it
    // whether there is still a reducer to tell.
    acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [alive = alive_, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          if (GradientReducer* r = *alive) r->mark_ready(k);
          return outputs;
        }));
    accumulators_.push_back(acc);
  }
}

GradientReducer::~GradientReducer() {
  *alive_ = nullptr;
  for (auto& b : buckets_) {
    if (b.pending) {
      try {
        b.pending->wait();
      } catch (...) {
      }
    }
  }
}

int GradientReducer::buckets() const { return static_cast<int>(buckets_.size()); }

void GradientReducer::prepare(bool last_micro_batch) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = last_micro_batch;
  if (!armed_) return;
  launched_in_backward_ = 0;
  for (auto& b : buckets_) {
    b.remaining = b.params.size();
    b.pending.reset();
  }
}

void GradientReducer::launch(Bucket& b) {
  std::vector<at::Tensor> parts;
  for (std::size_t k : b.params) {
    const at::Tensor& g = params_[k].grad();
    parts.push_back(g.defined() ? g.reshape(-1) : at::zeros({params_[k].numel()}, params_[k].options()));
  }
  b.flat = at::cat(parts);
  b.pending = dp_.allreduce_async(b.flat);
}

void GradientReducer::mark_ready(std::size_t k) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!armed_) return;
  Bucket& b = buckets_[bucket_of_[k]];
  if (b.remaining == 0 || --b.remaining > 0) return;
  launch(b);
  ++launched_in_backward_;
}

void GradientReducer::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& b : buckets_) {
    if (!b.pending) launch(b);
  }
  for (auto& b : buckets_) {
    b.pending->wait();
    b.pending.reset();
    b.flat.div_(dp_.world_size());
    std::int64_t offset = 0;
    for (std::size_t k : b.params) {
      at::Tensor& p = params_[k];
      const std::int64_t n = p.numel();
      const auto avg = b.flat.narrow(0, offset, n).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(avg);
      } else {
        p.mutable_grad() = avg.clone();
      }
      offset += n;
    }
  }
  armed_ = false;
}

void DataParallel::broadcast(at::Tensor& t, int root) {
#if PLOTFORGE_HAVE_NCCL
  if (impl_->nccl) {
    if (t.is_contiguous()) return impl_->nccl->broadcast(t, root);
    const at::Tensor c = t.contiguous();
    impl_->nccl->broadcast(c, root);
    t.copy_(c);
    return;
  }
#endif
  std::vector<at::Tensor> v = {t};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  impl_->pg->broadcast(v, o)->wait();
}

namespace {

// The shard's length, after checking that `flat` is world_size of them.
std::int64_t shard_length(const char* what, const at::Tensor& flat, const at::Tensor& shard, int world_size) {
  if (flat.numel() != shard.numel() * world_size || !flat.is_contiguous() || !shard.is_contiguous()) {
    throw std::invalid_argument(std::string(what) + ": flat must hold world_size contiguous shards");
  }
  return shard.numel();
}

}  // namespace

void DataParallel::reduce_scatter(const at::Tensor& flat, at::Tensor& shard) {
  const std::int64_t n = shard_length("reduce_scatter", flat, shard, env_.world_size);
#if PLOTFORGE_HAVE_NCCL
  if (impl_->nccl) return impl_->nccl->reduce_scatter_sum(flat, shard);
#endif
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (int r = 0; r < env_.world_size; ++r) {
    std::vector<at::Tensor> part = {flat.narrow(0, r * n, n)};
    c10d::ReduceOptions o;
    o.rootRank = r;
    works.push_back(impl_->pg->reduce(part, o));
  }
  for (auto& w : works) w->wait();
  shard.copy_(flat.narrow(0, env_.rank * n, n));
}

void DataParallel::all_gather(const at::Tensor& shard, at::Tensor& flat) {
  const std::int64_t n = shard_length("all_gather", flat, shard, env_.world_size);
#if PLOTFORGE_HAVE_NCCL
  if (impl_->nccl) return impl_->nccl->all_gather(shard, flat);
#endif
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < env_.world_size; ++r) out[0].push_back(flat.narrow(0, r * n, n));
  std::vector<at::Tensor> in = {shard};
  impl_->pg->allgather(out, in)->wait();
}

double DataParallel::sum(double value) {
  auto options = at::TensorOptions().dtype(at::kDouble);
  if (impl_->cuda_device >= 0) options = options.device(at::kCUDA, static_cast<c10::DeviceIndex>(impl_->cuda_device));
  const at::Tensor t = at::full({1}, value, options);
  allreduce_async(t)->wait();
  return t.item<double>();
}

}  // namespace plotforge
