// Data parallelism with real processes on this machine (Gloo over loopback):
// 2 ranks x B equal 1 rank x 2B step for step; a world-2 checkpoint resumes
// at world 1; a killed rank makes the other exit with a clear error; the
// launcher environments parse; `plotforge train --cpu-ranks` starts its own
// ranks, and they stop with it.
#include "training/distributed.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tests/test_util.h"
#include "training/cpu_ranks.h"

namespace plotforge {
namespace {

using testing::plotforge_bin;
using testing::run;

TEST(LaunchEnv, TorchrunSlurmAndSingleProcess) {
  LaunchEnv e = launch_env_from({});
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.launcher, "none");
  e = launch_env_from(
      {{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.1.2.3"}, {"MASTER_PORT", "29501"}});
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "10.1.2.3");
  EXPECT_EQ(e.master_port, 29501);
  e = launch_env_from({{"SLURM_PROCID", "5"},
                       {"SLURM_NTASKS", "16"},
                       {"SLURM_LOCALID", "1"},
                       {"SLURM_NODELIST", "gpu[07-10,12],cpu1"}});
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 16);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "gpu07");
  e = launch_env_from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "a,b"}, {"MASTER_ADDR", "m"}});
  EXPECT_EQ(e.master_addr, "m");
  EXPECT_EQ(first_slurm_host("node01"), "node01");
  EXPECT_EQ(first_slurm_host("n[3-4]"), "n3");
  EXPECT_FALSE(e.agent_store);
  // torchrun's agent hosts the store (TORCHELASTIC_USE_AGENT_STORE).
  e = launch_env_from({{"RANK", "0"},
                       {"WORLD_SIZE", "2"},
                       {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                       {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(e.agent_store);
  EXPECT_EQ(e.restart_count, 2);
  EXPECT_THROW(launch_env_from({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), InputError);
  EXPECT_THROW(launch_env_from({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), InputError);
  EXPECT_THROW(launch_env_from({{"MASTER_PORT", "70000"}}), InputError);
}

const std::string& corpus() {
  static const std::string path = testing::prepared_sample_corpus(800);
  return path;
}

// --cpu-ranks 1 unless asked: one process (launchers ignore the option).
// fp32 products unless asked, so that equal runs agree to 1e-5; the tests
// that take "bf16" (the default where the CPU has AMX, models/projection.h)
// allow for its rounding.
std::string args(const std::string& out, int steps, int batch, int cpu_ranks = 1, const std::string& matmul = "fp32") {
  return " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " + corpus() + " --out " +
         out + " --max-steps " + std::to_string(steps) + " --batch-size " + std::to_string(batch) +
         " --model.context 48 --eval-every 10 --eval-batches 4 --checkpoint-every 10 --log-every 1 --quiet "
         "--dist-timeout 20 --cpu-ranks " +
         std::to_string(cpu_ranks) + " --cpu-matmul " + matmul;
}

// How far 2 ranks x B may drift from 1 rank x 2B in 30 steps of tiny.ini:
// the order of the gradient sums differs, and bf16 products round each
// rank's gradient to 8 bits before the average (measured: up to 3.3e-5
// in the loss by step 10).
double tolerance(const std::string& matmul) { return matmul == "bf16" ? 3e-4 : 1e-5; }

// A port the kernel just handed out as free (bind to port 0, read it back).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 29000 + static_cast<int>(getpid() % 1000);
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// Starts `plotforge ARGS` as rank `rank` of `world`; returns its pid.
pid_t spawn_rank(const std::string& a, int rank, int world, int port, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("RANK", std::to_string(rank).c_str(), 1);
    setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
    setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
    setenv("MASTER_ADDR", "127.0.0.1", 1);
    setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    const std::string cmd = "exec " + plotforge_bin() + a + " > " + log + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::map<long, double> losses(const std::string& run_dir, const char* key = "loss") {
  std::map<long, double> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains(key)) out[j["step"].get<long>()] = j[key].get<double>();
  }
  return out;
}

TEST(DataParallel, TwoRanksOfBEqualOneRankOf2B) {
  for (const std::string matmul : {"fp32", "bf16"}) {
    SCOPED_TRACE(matmul + " products");
    const double tol = tolerance(matmul);
    const std::string one = testing::temp_dir("dp-one-" + matmul), two = testing::temp_dir("dp-two-" + matmul);
    ASSERT_EQ(run(plotforge_bin() + args(one, 20, 8, 1, matmul)).exit_code, 0);
    const int port = free_port();
    // Small buckets, so several start from gradient hooks during backward.
    const std::string small_buckets = " --bucket-mb 0.01";
    const pid_t r1 = spawn_rank(args(two, 20, 4, 1, matmul) + small_buckets, 1, 2, port, two + "-rank1.log");
    const pid_t r0 = spawn_rank(args(two, 20, 4, 1, matmul) + small_buckets, 0, 2, port, two + "-rank0.log");
    ASSERT_EQ(wait_exit(r0), 0) << testing::read_text(two + "-rank0.log");
    ASSERT_EQ(wait_exit(r1), 0) << testing::read_text(two + "-rank1.log");
    // tiny's 2 layers in 10 KiB buckets: most start before backward ends.
    const std::string log0 = testing::read_text(two + "-rank0.log");
    EXPECT_NE(log0.find(matmul + " products"), std::string::npos) << log0;
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(log0, m, std::regex("(\\d+) of (\\d+) gradient buckets started during the last backward")))
        << log0;
    EXPECT_GE(std::stoi(m[2]), 4);
    EXPECT_GE(std::stoi(m[1]), std::stoi(m[2]) - 1) << "buckets should start as their gradients are ready";
    const auto a = losses(one), b = losses(two);
    ASSERT_EQ(a.size(), 20u);
    ASSERT_EQ(b.size(), 20u);
    for (const auto& [step, loss] : a) EXPECT_NEAR(b.at(step), loss, tol) << "step " << step;
    const auto va = losses(one, "val_loss"), vb = losses(two, "val_loss");
    ASSERT_EQ(va.size(), 2u);
    for (const auto& [step, loss] : va) EXPECT_NEAR(vb.at(step), loss, tol) << "val at step " << step;
    EXPECT_FALSE(std::filesystem::exists(two + "/metrics.jsonl.rank1"));

    // The world-2 checkpoint at step 20 resumes at world 1 (batch 2B) to 30 steps.
    auto r = run(plotforge_bin() + args(two, 30, 8, 1, matmul) + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(run(plotforge_bin() + args(one, 30, 8, 1, matmul) + " --resume").exit_code, 0);
    const auto a30 = losses(one), b30 = losses(two);
    for (long step = 21; step <= 30; ++step) EXPECT_NEAR(b30.at(step), a30.at(step), 10 * tol) << "step " << step;
  }
}

// A launcher's world of one (torchrun --nproc_per_node 1) goes through the
// same data-parallel path as larger worlds, which is how a single GPU
// exercises NCCL; on CPUs that path is Gloo and changes nothing.
TEST(DataParallel, ALaunchersWorldOfOneTakesTheSamePathAndTheSameSteps) {
  const std::string alone = testing::temp_dir("dp-alone"), world1 = testing::temp_dir("dp-world1");
  ASSERT_EQ(run(plotforge_bin() + args(alone, 10, 8)).exit_code, 0);
  const pid_t r0 = spawn_rank(args(world1, 10, 8), 0, 1, free_port(), world1 + "-rank0.log");
  ASSERT_EQ(wait_exit(r0), 0) << testing::read_text(world1 + "-rank0.log");
  const std::string log0 = testing::read_text(world1 + "-rank0.log");
  EXPECT_NE(log0.find("data parallel: 1 ranks via torchrun, gloo"), std::string::npos) << log0;
  const auto a = losses(alone), b = losses(world1);
  ASSERT_EQ(b.size(), 10u);
  for (const auto& [step, loss] : a) EXPECT_NEAR(b.at(step), loss, 1e-6) << "step " << step;
}

// Trains 1 rank x 8 alone and 2 ranks x 4 under `launcher` (a command
// prefix), and checks the launch banner and that the losses agree.
void expect_launcher_matches_one_rank(const std::string& name, const std::string& launcher, const std::string& banner) {
  const std::string one = testing::temp_dir(name + "-one"), two = testing::temp_dir(name + "-two");
  ASSERT_EQ(run(plotforge_bin() + args(one, 10, 8)).exit_code, 0);
  const auto r = run(launcher + plotforge_bin() + args(two, 10, 4));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(banner), std::string::npos) << r.output;
  const auto a = losses(one), b = losses(two);
  ASSERT_EQ(b.size(), 10u);
  for (const auto& [step, loss] : a) EXPECT_NEAR(b.at(step), loss, 1e-5) << "step " << step;
}

// The real launcher: torchrun starts two ranks and hosts the store itself
// (rank 0 joins it as a client). The same losses as 1 rank x 2B.
// Debian's torchrun (torch 1.13 on Python 3.11) fails to parse its own
// default --redirects/--tee values, hence the explicit "1".
TEST(DataParallel, TorchrunLaunchesTheRanks) {
  if (run("torchrun --help").exit_code != 0) GTEST_SKIP() << "no torchrun here (Debian's python3-torch has it)";
  expect_launcher_matches_one_rank("torchrun",
                                   "torchrun --no_python --nnodes 1 --nproc_per_node 2 --master_port " +
                                       std::to_string(free_port()) + " --redirects 1 --tee 1 ",
                                   "data parallel: 2 ranks via torchrun, gloo");
}

// And SLURM: a one-node cluster (scripts/slurm_local.sh: munged, slurmctld,
// slurmd) and a plain `srun -n 2`; the ranks take SLURM_PROCID/SLURM_NTASKS
// and the master from SLURM_NODELIST.
TEST(DataParallel, SrunLaunchesTheRanks) {
  if (::geteuid() != 0 ||
      run("command -v srun && command -v slurmctld && command -v slurmd && command -v munged").exit_code != 0) {
    GTEST_SKIP() << "needs root and Debian's slurmd, slurmctld, slurm-client and munge (scripts/setup.sh)";
  }
  char cluster_template[] = "/tmp/pf-slurm-XXXXXX";  // short: munge's socket path must fit a sockaddr_un
  ASSERT_NE(::mkdtemp(cluster_template), nullptr);
  const std::string cluster = cluster_template, script = std::string(PLOTFORGE_SOURCE_DIR) + "/scripts/slurm_local.sh";
  const auto r =
      run(script + " start " + cluster + " " + std::to_string(free_port()) + " " + std::to_string(free_port()));
  struct Stop {
    std::string command;
    ~Stop() { run(command); }
  } stop{script + " stop " + cluster + " && rm -rf " + cluster};
  ASSERT_EQ(r.exit_code, 0) << r.output << testing::read_text(cluster + "/log/slurmctld.log")
                            << testing::read_text(cluster + "/log/slurmd.log");
  expect_launcher_matches_one_rank(
      "srun",
      "SLURM_CONF=" + cluster + "/slurm.conf MASTER_PORT=" + std::to_string(free_port()) + " timeout 300 srun -n 2 ",
      "data parallel: 2 ranks via slurm, gloo, rendezvous localhost");
}

// ZeRO-1 changes where AdamW's state lives, not the arithmetic: 2 sharded
// ranks x B give 1 rank x 2B's losses, and its checkpoint (state gathered
// from both ranks) resumes at world size 1 as the unsharded run continues.
// The gradient norm, which ZeRO-1 assembles from the ranks' shards, is
// compared as well: AdamW hardly notices a gradient's scale, so the losses
// alone would not catch a wrong average or norm.
TEST(DataParallel, ZeroOneShardsTheOptimizerWithoutChangingTheRun) {
  const std::string one = testing::temp_dir("zero-one"), two = testing::temp_dir("zero-two");
  ASSERT_EQ(run(plotforge_bin() + args(one, 20, 8)).exit_code, 0);
  const int port = free_port();
  const pid_t r1 = spawn_rank(args(two, 20, 4) + " --zero1", 1, 2, port, two + "-rank1.log");
  const pid_t r0 = spawn_rank(args(two, 20, 4) + " --zero1", 0, 2, port, two + "-rank0.log");
  ASSERT_EQ(wait_exit(r0), 0) << testing::read_text(two + "-rank0.log");
  ASSERT_EQ(wait_exit(r1), 0) << testing::read_text(two + "-rank1.log");
  const std::string log0 = testing::read_text(two + "-rank0.log");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log0, m, std::regex("AdamW state for ([0-9.]+)M of ([0-9.]+)M parameters"))) << log0;
  EXPECT_LT(std::stod(m[1]), 0.75 * std::stod(m[2])) << "rank 0 should hold about half the state";
  EXPECT_NE(log0.find("gradients reduce-scattered, parameters all-gathered"), std::string::npos) << log0;
  const auto a = losses(one), b = losses(two);
  ASSERT_EQ(b.size(), 20u);
  for (const auto& [step, loss] : a) EXPECT_NEAR(b.at(step), loss, 1e-5) << "step " << step;
  const auto norm_a = losses(one, "grad_norm"), norm_b = losses(two, "grad_norm");
  ASSERT_EQ(norm_b.size(), 20u);
  int clipped = 0;
  for (const auto& [step, norm] : norm_a) {
    EXPECT_NEAR(norm_b.at(step), norm, 1e-4 * norm) << "step " << step;
    clipped += norm > 1.0;  // tiny.ini clips at 1
  }
  EXPECT_GT(clipped, 0) << "no step was clipped, so clipping went untested";
  auto r = run(plotforge_bin() + args(two, 30, 8) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(run(plotforge_bin() + args(one, 30, 8) + " --resume").exit_code, 0);
  const auto a30 = losses(one), b30 = losses(two);
  for (long step = 21; step <= 30; ++step) EXPECT_NEAR(b30.at(step), a30.at(step), 1e-4) << "step " << step;
}

// LoRA under data parallelism: only the adapters are reduced (and, with
// ZeRO-1, sharded), the frozen base is never touched, and 2 ranks x B give
// 1 rank x 2B's run, resumable at world size 1, as for full training.
TEST(DataParallel, LoRAFineTuningIsTheSameUnderTwoRanks) {
  const std::string base = testing::temp_dir("dp-lora-base");
  ASSERT_EQ(run(plotforge_bin() + args(base, 10, 8)).exit_code, 0);
  const std::string lora =
      " --init-from " + base + " --lora.rank 4 --lora.alpha 8 --lora.targets q_proj,v_proj,down_proj";
  const std::string one = testing::temp_dir("dp-lora-one");
  auto r = run(plotforge_bin() + args(one, 10, 8) + lora);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string zero : {"", " --zero1"}) {
    const std::string two = testing::temp_dir("dp-lora-two" + std::string(zero.empty() ? "" : "-zero1"));
    const int port = free_port();
    const pid_t r1 = spawn_rank(args(two, 10, 4) + lora + zero, 1, 2, port, two + "-rank1.log");
    const pid_t r0 = spawn_rank(args(two, 10, 4) + lora + zero, 0, 2, port, two + "-rank0.log");
    ASSERT_EQ(wait_exit(r0), 0) << testing::read_text(two + "-rank0.log");
    ASSERT_EQ(wait_exit(r1), 0) << testing::read_text(two + "-rank1.log");
    const std::string log0 = testing::read_text(two + "-rank0.log");
    EXPECT_NE(log0.find("LoRA rank 4"), std::string::npos) << log0;
    if (!zero.empty()) {
      // AdamW's state covers the adapters only (printed in millions: 0.00M here).
      std::smatch m;
      ASSERT_TRUE(std::regex_search(log0, m, std::regex("AdamW state for ([0-9.]+)M of ([0-9.]+)M parameters")))
          << log0;
      EXPECT_LT(std::stod(m[2]), 0.05) << "the frozen base must not be in the optimizer";
    }
    const auto a = losses(one), b = losses(two);
    ASSERT_EQ(b.size(), 10u);
    for (const auto& [step, loss] : a) EXPECT_NEAR(b.at(step), loss, 1e-5) << zero << " step " << step;
    const auto norm_a = losses(one, "grad_norm"), norm_b = losses(two, "grad_norm");
    for (const auto& [step, norm] : norm_a) EXPECT_NEAR(norm_b.at(step), norm, 1e-4 * norm) << zero << " " << step;
    // The world-2 LoRA checkpoint resumes at world 1.
    r = run(plotforge_bin() + args(two, 14, 8) + lora + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(losses(two).size(), 14u);
  }
}

// The VAE and the latent GAN train through the same data-parallel trainer
// (the GAN's critic, stepped inside its objective, averages its gradients
// through the trainer's hook): both ranks finish, rank 0 alone logs.
TEST(DataParallel, TheVAEAndGANTrainUnderTwoRanks) {
  const std::string vae = testing::temp_dir("dp-vae"), gan = testing::temp_dir("dp-gan");
  const std::string vae_args =
      " train --kind vae --data " + corpus() + " --out " + vae +
      " --max-steps 6 --batch-size 2 --model.dim 32 --model.n_layers 1 --model.n_heads 2"
      " --model.context 48 --vae.latent 4 --eval-every 6 --eval-batches 1 --quiet --dist-timeout 20";
  const std::string gan_args = " train --config " + std::string(PLOTFORGE_SOURCE_DIR) +
                               "/configs/scenes-gan.ini --data " + corpus() + " --out " + gan + " --gan.vae " + vae +
                               " --gan.hidden 16 --gan.n_critic 2 --max-steps 6 --batch-size 4 --eval-every 6"
                               " --eval-batches 1 --log-every 1 --quiet --dist-timeout 20";
  for (const auto& [a, dir] : {std::make_pair(vae_args, vae), std::make_pair(gan_args, gan)}) {
    const int port = free_port();
    const pid_t r1 = spawn_rank(a, 1, 2, port, dir + "-rank1.log");
    const pid_t r0 = spawn_rank(a, 0, 2, port, dir + "-rank0.log");
    ASSERT_EQ(wait_exit(r0), 0) << testing::read_text(dir + "-rank0.log");
    ASSERT_EQ(wait_exit(r1), 0) << testing::read_text(dir + "-rank1.log");
    const auto l = losses(dir);
    ASSERT_EQ(l.size(), 6u) << dir;
    for (const auto& [step, loss] : l) EXPECT_TRUE(std::isfinite(loss)) << dir << " step " << step;
    EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-00000006.pt"));
  }
}

TEST(DataParallel, AKilledRankMakesTheOtherExitWithAClearError) {
  const std::string out = testing::temp_dir("dp-kill");
  const int port = free_port();
  const pid_t r1 = spawn_rank(args(out, 100000, 4), 1, 2, port, out + "-rank1.log");
  const pid_t r0 = spawn_rank(args(out, 100000, 4), 0, 2, port, out + "-rank0.log");
  // Let them train a few steps, then kill rank 1.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (losses(out).size() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(losses(out).size(), 5u) << testing::read_text(out + "-rank0.log");
  kill(r1, SIGKILL);
  wait_exit(r1);
  const auto t0 = std::chrono::steady_clock::now();
  const int code = wait_exit(r0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string log = testing::read_text(out + "-rank0.log");
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("rank 0 of 2: a collective failed: rank 1 stopped responding"), std::string::npos) << log;
  EXPECT_LT(waited, 40.0) << "rank 0 must give up within about --dist-timeout (20 s)";
}

TEST(CpuRanks, AutoTakesOneRankPerCoreAsFarAsTheBatchDivides) {
  EXPECT_EQ(choose_cpu_ranks(0, 12, 2).ranks, 2);
  EXPECT_EQ(choose_cpu_ranks(0, 12, 1).ranks, 1);
  EXPECT_EQ(choose_cpu_ranks(0, 9, 2).ranks, 1);
  EXPECT_EQ(choose_cpu_ranks(0, 12, 8).ranks, 6);
  EXPECT_EQ(choose_cpu_ranks(0, 3, 16).ranks, 3);
  EXPECT_EQ(choose_cpu_ranks(1, 12, 8).ranks, 1);
  EXPECT_EQ(choose_cpu_ranks(4, 12, 2).ranks, 4);  // asked for: more ranks than cores is the user's call
  EXPECT_EQ(choose_cpu_ranks(0, 12, 2).why, "auto: 2 cores, batch 12 = 2 x 6");
  EXPECT_THROW(choose_cpu_ranks(5, 12, 8), InputError);
  EXPECT_THROW(choose_cpu_ranks(-1, 12, 8), InputError);
}

// Processes whose command line mentions `needle` (the ranks of one run).
int processes_mentioning(const std::string& needle) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string zombie;
    std::ifstream stat(e.path() / "stat");
    std::getline(stat, zombie);
    if (cmd.find(needle) != std::string::npos && zombie.find(") Z ") == std::string::npos) ++n;
  }
  return n;
}

TEST(CpuRanks, PlotforgeTrainStartsItsOwnRanksWithTheSameSteps) {
  for (const std::string matmul : {"fp32", "bf16"}) {
    SCOPED_TRACE(matmul + " products");
    const double tol = tolerance(matmul);
    const std::string one = testing::temp_dir("cpu-ranks-one-" + matmul),
                      two = testing::temp_dir("cpu-ranks-two-" + matmul);
    ASSERT_EQ(run(plotforge_bin() + args(one, 10, 8, 1, matmul)).exit_code, 0);
    auto r = run(plotforge_bin() + args(two, 10, 8, 2, matmul));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("batch: 4 x 1 accumulation x 2 ranks"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("data parallel: 2 ranks via plotforge, shared memory"), std::string::npos) << r.output;
    const auto a = losses(one), b = losses(two);
    ASSERT_EQ(b.size(), 10u);
    for (const auto& [step, loss] : a) EXPECT_NEAR(b.at(step), loss, tol) << "step " << step;
    // Its checkpoint resumes in one process, as the one-process run does.
    ASSERT_EQ(run(plotforge_bin() + args(two, 15, 8, 1, matmul) + " --resume").exit_code, 0);
    ASSERT_EQ(run(plotforge_bin() + args(one, 15, 8, 1, matmul) + " --resume").exit_code, 0);
    const auto a15 = losses(one), b15 = losses(two);
    for (long step = 11; step <= 15; ++step) EXPECT_NEAR(b15.at(step), a15.at(step), 10 * tol) << "step " << step;
  }
  // A split the batch does not allow is refused before anything starts.
  const auto r = run(plotforge_bin() + args(testing::temp_dir("cpu-ranks-bad"), 10, 8, 3));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--cpu-ranks 3: the batch of 8 sequences does not divide"), std::string::npos) << r.output;
}

// A rank that dies stops the run at once (not after --dist-timeout), with
// its status; a launcher that dies takes its ranks with it.
TEST(CpuRanks, ADeadRankOrLauncherLeavesNothingRunning) {
  for (const bool kill_launcher : {false, true}) {
    const std::string out = testing::temp_dir(kill_launcher ? "cpu-ranks-kill-launcher" : "cpu-ranks-kill-rank");
    const pid_t launcher = fork();
    if (launcher == 0) {
      const std::string cmd = "exec " + plotforge_bin() + args(out, 100000, 8, 2) + " > " + out + ".log 2>&1";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (losses(out).size() < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(losses(out).size(), 3u) << testing::read_text(out + ".log");
    ASSERT_EQ(processes_mentioning(out + std::string(1, '\0')), 3) << "the launcher and its two ranks";
    pid_t victim = launcher;
    if (!kill_launcher) {
      // A rank: a child of the launcher.
      for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::ifstream stat(e.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        std::istringstream fields(line.substr(line.rfind(')') + 2));
        std::string state;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid == launcher) victim = std::stoi(e.path().filename().string());
      }
      ASSERT_NE(victim, launcher) << "no rank found under the launcher";
    }
    const auto t0 = std::chrono::steady_clock::now();
    kill(victim, SIGKILL);
    const int code = wait_exit(launcher);
    EXPECT_EQ(code, 128 + SIGKILL) << testing::read_text(out + ".log");
    while (processes_mentioning(out + std::string(1, '\0')) > 0 &&
           std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(processes_mentioning(out + std::string(1, '\0')), 0)
        << (kill_launcher ? "ranks outlived their launcher" : "a rank kept running");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 15.0);
  }
}

}  // namespace
}  // namespace plotforge
