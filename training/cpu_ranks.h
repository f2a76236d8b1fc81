// Data-parallel ranks on one machine's CPU cores, started by `plotforge
// train` itself (`--cpu-ranks`).
//
// Why: on a CPU, one process with N BLAS and OpenMP threads splits every
// operator N ways, and the small ones (elementwise, softmax, the optimizer,
// matrix products of a short context) do not split well: threads wait at
// each operator's end. N processes of one thread each, each on 1/N of the
// micro-batch, keep every core busy on whole operators and meet once a
// step to average gradients (Gloo, training/distributed.h). On the 2-core
// development VM the shakespeare-char run is about 15% faster this way
// (docs/perf/training-cpu.md), with the same loss: a rank's slice of a
// global batch is the same sequences whatever the world size.
//
// How: this process (the launcher) hosts the rendezvous store on a free
// loopback port, starts the ranks as copies of this program with torchrun's
// variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and
// one thread each, waits, and exits with their status. If one rank fails,
// the launcher stops the others at once; if the launcher dies, so do they.
#pragma once

#include <string>
#include <vector>

namespace plotforge {

struct CpuRanksChoice {
  int ranks = 1;
  std::string why;  // for the log, e.g. "auto: 2 cores, batch 12 = 2 x 6"
};

// The ranks for `requested` (0: auto; n: n) with `batch_size` sequences per
// global micro-batch on `cores` cores. Auto takes the most ranks, at most
// one per core, that divide the batch evenly (1 on one core). An explicit
// n must divide the batch: InputError otherwise, naming --cpu-ranks.
CpuRanksChoice choose_cpu_ranks(int requested, int batch_size, int cores);

// Starts `ranks` copies of this program (/proc/self/exe) with `args` (its
// whole command line after the program name), each with the rank variables
// of a rendezvous store this process hosts and OMP_NUM_THREADS and
// OPENBLAS_NUM_THREADS of 1; waits for all. Returns 0 when every rank
// succeeded, else the first failure's exit status (128 + signal for a
// killed rank), the others having been sent SIGTERM.
int run_cpu_ranks(const std::vector<std::string>& args, int ranks);

}  // namespace plotforge
