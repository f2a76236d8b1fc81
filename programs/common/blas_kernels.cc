#include "programs/common/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/cpu_features.h"

namespace plotforge::programs {

namespace {

// What plotforge sets, and what OpenBLAS had detected, kept in the
// environment across the re-exec so the note can say both.
constexpr const char* kDetectedVar = "PLOTFORGE_BLAS_DETECTED";

// OpenBLAS's query functions, looked up in the libraries already loaded (a
// program linked against another BLAS has none).
const char* openblas_string(const char* symbol) {
  using Fn = char* (*)();
  const auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, symbol));
  return fn ? fn() : nullptr;
}

// The kernels to ask for on this CPU, or nullptr when OpenBLAS has nothing
// better than what it detected.
const char* better_core(const std::string& detected) {
  // The cores OpenBLAS falls back to for a CPU it does not know; anything
  // else it chose on purpose.
  static const char* const fallbacks[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom"};
  bool fallback = false;
  for (const char* f : fallbacks) fallback = fallback || detected == f;
  if (!fallback) return nullptr;
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512() && cpu.avx512_bf16) return "Cooperlake";
  if (cpu.avx512()) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  return nullptr;
}

}  // namespace

void correct_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice, or ours after the re-exec
  const char* detected = openblas_string("openblas_get_corename");
  if (!detected) return;
  const char* core = better_core(detected);
  if (!core) return;
  setenv(kDetectedVar, detected, 1);
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  // Still here: the re-exec failed; carry on with the detected kernels.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kDetectedVar);
}

std::string blas_kernels_note() {
  const char* config = openblas_string("openblas_get_config");
  const char* core = openblas_string("openblas_get_corename");
  if (!config || !core) return "BLAS: not OpenBLAS (kernels as that library chose them)";
  // openblas_get_config: "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."; keep the name and version.
  std::string version(config);
  const std::size_t second_space = version.find(' ', version.find(' ') + 1);
  if (second_space != std::string::npos) version.resize(second_space);
  std::string note = version + ", " + core + " kernels";
  const char* detected = std::getenv(kDetectedVar);
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  if (detected && forced && std::strcmp(forced, core) == 0) {
    note += std::string(" (set by plotforge: OpenBLAS detected ") + detected + " on a CPU with " +
            (cpu_features().avx512() ? "AVX-512" : "AVX2") + "; set OPENBLAS_CORETYPE to choose)";
  } else if (forced) {
    note += std::string(" (OPENBLAS_CORETYPE=") + forced + ")";
  } else {
    note += " (detected by OpenBLAS)";
  }
  return note;
}

}  // namespace plotforge::programs
