#include "training/cpu_ranks.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "base/error.h"

extern char** environ;

namespace plotforge {

CpuRanksChoice choose_cpu_ranks(int requested, int batch_size, int cores) {
  CpuRanksChoice c;
  const std::string split = std::to_string(batch_size);
  if (requested < 0) throw InputError("--cpu-ranks: must be 0 (auto) or a number of processes");
  if (requested > 0) {
    if (batch_size % requested != 0) {
      throw InputError("--cpu-ranks " + std::to_string(requested) + ": the batch of " + split +
                       " sequences does not divide into " + std::to_string(requested) +
                       " equal slices (choose a divisor of --batch-size, or 0 for auto)");
    }
    c.ranks = requested;
    c.why = "--cpu-ranks " + std::to_string(requested);
  } else {
    for (int n = std::min(cores, batch_size); n >= 1; --n) {
      if (batch_size % n == 0) {
        c.ranks = n;
        break;
      }
    }
    c.why = "auto: " + std::to_string(cores) + (cores == 1 ? " core" : " cores");
  }
  c.why += ", batch " + split + " = " + std::to_string(c.ranks) + " x " + std::to_string(batch_size / c.ranks);
  return c;
}

namespace {

// The running ranks, for the signal handler (kill is async-signal-safe).
constexpr int kMaxRanks = 256;
volatile sig_atomic_t g_count = 0;
pid_t g_pids[kMaxRanks];

void forward(int sig) {
  for (int i = 0; i < g_count; ++i)
    if (g_pids[i] > 0) kill(g_pids[i], sig);
}

int status_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 1;
}

}  // namespace

int run_cpu_ranks(const std::vector<std::string>& args, int ranks) {
  if (ranks < 1 || ranks > kMaxRanks) throw InputError("--cpu-ranks: at most " + std::to_string(kMaxRanks));
  // The rendezvous store, on a port the kernel picks (no clash with another
  // run starting at the same moment); the ranks connect to it as torchrun's
  // do to its agent's.
  c10d::TCPStoreOptions so;
  so.port = 0;
  so.isServer = true;
  so.waitWorkers = false;
  so.timeout = std::chrono::seconds(300);
  c10d::TCPStore store("127.0.0.1", so);
  const int port = store.getPort();

  // Everything the children need, built before fork: after it, only
  // async-signal-safe calls (the store's thread may hold malloc's lock).
  static const std::set<std::string> ours = {"RANK",
                                             "WORLD_SIZE",
                                             "LOCAL_RANK",
                                             "MASTER_ADDR",
                                             "MASTER_PORT",
                                             "OMP_NUM_THREADS",
                                             "OPENBLAS_NUM_THREADS",
                                             "PLOTFORGE_LAUNCHER",
                                             "LOCAL_WORLD_SIZE"};
  std::vector<std::string> base;
  for (char** e = environ; *e; ++e) {
    const std::string kv(*e);
    if (!ours.count(kv.substr(0, kv.find('=')))) base.push_back(kv);
  }
  std::vector<std::vector<std::string>> envs(ranks, base);
  for (int r = 0; r < ranks; ++r) {
    for (const std::string& kv :
         {"RANK=" + std::to_string(r), "LOCAL_RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(ranks),
          "LOCAL_WORLD_SIZE=" + std::to_string(ranks), std::string("MASTER_ADDR=127.0.0.1"),
          "MASTER_PORT=" + std::to_string(port), std::string("OMP_NUM_THREADS=1"),
          std::string("OPENBLAS_NUM_THREADS=1"), std::string("PLOTFORGE_LAUNCHER=plotforge")})
      envs[r].push_back(kv);
  }
  const auto pointers = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (auto& s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<std::string> argv_s = {"plotforge"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv = pointers(argv_s);
  std::vector<std::vector<char*>> envp;
  for (auto& e : envs) envp.push_back(pointers(e));

  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  const pid_t launcher = getpid();
  for (int r = 0; r < ranks; ++r) {
    const pid_t pid = fork();
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      forward(SIGTERM);  // the ranks already started, reaped before saying so
      for (int i = 0; i < g_count; ++i) waitpid(g_pids[i], nullptr, 0);
      g_count = 0;
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      throw InputError("--cpu-ranks: could not start rank " + std::to_string(r) + " (" + why +
                       "); try fewer ranks, or --cpu-ranks 1");
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher died: so do its ranks
      if (getppid() != launcher) _exit(1);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      execve("/proc/self/exe", argv.data(), envp[r].data());
      _exit(127);
    }
    g_pids[r] = pid;
    g_count = r + 1;
  }
  int result = 0, left = ranks;
  while (left > 0) {
    int wstatus = 0;
    const pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < g_count; ++i) {
      if (g_pids[i] != pid) continue;
      g_pids[i] = 0;
      --left;
      const int s = status_of(wstatus);
      if (s != 0 && result == 0) {
        result = s;
        forward(SIGTERM);  // the others would only wait for it until --dist-timeout
      }
    }
  }
  g_count = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace plotforge
