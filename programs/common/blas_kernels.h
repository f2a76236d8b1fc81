// OpenBLAS's choice of kernels, corrected where it guessed wrong.
//
// Debian's OpenBLAS (0.3.21) is built for every x86-64 and picks its kernels
// when the library loads, from the CPU's family and model. A CPU newer than
// the library (this project's CI VMs: family 6 model 207, AVX-512) falls back
// to the Prescott (SSE3) kernels, which run libtorch's and the runtime's
// matrix products 2-2.5x slower than the AVX-512 ones the CPU can run
// (docs/perf/training-cpu.md). OpenBLAS reads OPENBLAS_CORETYPE only when
// it loads, so a program that finds the fallback on a CPU with AVX2 or
// AVX-512 sets the variable and executes itself again, once, before doing
// anything else.
//
// A user's own OPENBLAS_CORETYPE is never overridden, and nothing happens
// where OpenBLAS is not the loaded BLAS.
#pragma once

#include <string>

namespace plotforge::programs {

// Called first thing in main (through dispatch): re-executes this program
// with OPENBLAS_CORETYPE set when OpenBLAS picked a fallback the CPU
// outgrows. Returns (does nothing) otherwise, or if the re-exec fails.
void correct_blas_kernels(char** argv);

// One line on the BLAS in use and how its kernels were chosen, e.g.
// "OpenBLAS 0.3.21, Cooperlake kernels (set by plotforge: OpenBLAS detected
// Prescott on a CPU with AVX-512; set OPENBLAS_CORETYPE to choose)".
std::string blas_kernels_note();

}  // namespace plotforge::programs
