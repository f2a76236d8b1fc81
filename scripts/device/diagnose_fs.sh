#!/usr/bin/env bash
# On the GPU machine: why `plotforge tokenizer train` segfaulted there
# (2026-12-04, check at 650eea1) while it runs on the CPU machines. Builds a
# few-line program that does what Tokenizer::train does around spm_train
# (std::filesystem, posix_spawnp of a missing program, an exception) linked
# against the image's torch wheel, with and without the top-level
# CMakeLists' "libstdc++ first" link option, and shows where the
# std::filesystem calls bind. Needs no GPU time beyond a minute.
set -uo pipefail
# CMake took /opt/gcc/bin/g++ on the image (its CXX), while plain g++ is
# /usr/bin's: both are 13.3, but which libstdc++ each links may differ.
cxx=${CXX:-g++}
echo "CXX=${CXX:-unset} -> $(command -v "$cxx") $($cxx -dumpfullversion); libstdc++: $($cxx -print-file-name=libstdc++.so) $($cxx -print-file-name=libstdc++.a)"
command -v spm_train || echo "spm_train: not on this image"
# Debian's spm_train, as check.sh now carries it.
mkdir -p /tmp/spm && for f in .deb/sentencepiece_*.deb .deb/libsentencepiece0_*.deb; do dpkg -x "$f" /tmp/spm; done
LD_LIBRARY_PATH=/tmp/spm/usr/lib/x86_64-linux-gnu /tmp/spm/usr/bin/spm_train --version; echo "carried spm_train exit $?"
T=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
cat > /tmp/fs.cc <<'EOF'
#include <spawn.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
extern char** environ;
namespace fs = std::filesystem;
int main() {
  const fs::path w = fs::temp_directory_path() / "pf-fs-test";
  fs::create_directories(w);
  std::ofstream(w / "a.txt") << "x";
  std::cout << "create_directories ok" << std::endl;
  char* args[] = {const_cast<char*>("spm_train_missing"), nullptr};
  pid_t pid;
  std::cout << "posix_spawnp of a missing program: " << posix_spawnp(&pid, args[0], nullptr, nullptr, args, environ)
            << std::endl;
  try {
    throw std::runtime_error("thrown");
  } catch (const std::exception& e) {
    std::cout << "caught " << e.what() << std::endl;
  }
  std::error_code ec;
  fs::remove_all(w, ec);
  std::cout << "remove_all ok: " << ec.message() << std::endl;
}
EOF
torch_libs="-Wl,--no-as-needed -L$T/lib -ltorch -ltorch_cpu -lc10 -Wl,-rpath,$T/lib"
first="-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state"
for v in plain stdcxx-first; do
  opt=; [ $v = stdcxx-first ] && opt=$first
  echo "=== $v"
  $cxx -std=c++17 -O1 $opt /tmp/fs.cc -o /tmp/fs-$v $torch_libs || continue
  readelf -d /tmp/fs-$v | grep NEEDED | head -5
  ldd /tmp/fs-$v | grep -E "stdc\+\+|torch_cpu"
  /tmp/fs-$v; echo "exit $?"
  LD_DEBUG=bindings /tmp/fs-$v 2>&1 | grep "binding file /tmp/fs-$v" | grep -E "filesystem" | sed 's/^ *[0-9]*: *//' | head -8
done
