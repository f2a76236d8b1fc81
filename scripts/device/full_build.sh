#!/usr/bin/env bash
# Best-effort full build on the GPU machine against the libtorch inside its
# python3 torch (CUDA), with Debian's -dev packages unpacked into PREFIX.
# Never run by CI. It has not yet run on a GPU machine; the same build
# against the same torch wheel (2.11.0+cu130) was tried on the CPU machine
# (docs/torch-versions.md), so what remains to go wrong is the GPU image's
# own layout. usage: scripts/device/full_build.sh PREFIX BUILD_DIR
set -uo pipefail
prefix=$1
build=$2
torch_cmake=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
# NCCL from the nvidia-nccl wheel pip's torch depends on, if the toolkit has none.
nccl_root=$(python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null || true)
lib=$prefix/usr/lib/x86_64-linux-gnu
# check.sh has run scripts/device/resolve_libs.sh on PREFIX, which wrote env.sh.
source "$prefix/env.sh"
# The carried .pc files say prefix=/usr: Debian's pkgconf, searching only
# PREFIX with PREFIX as its sysroot, turns their -I/-L into PREFIX's, and
# keeps -I/usr/include (which it would otherwise drop as a system path).
export PKG_CONFIG_LIBDIR=$lib/pkgconfig:$prefix/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$prefix
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DPKG_CONFIG_EXECUTABLE="$prefix/usr/bin/pkgconf" \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$torch_cmake" -DNCCL_ROOT="$nccl_root" \
  -DHDF5_C_INCLUDE_DIRS="$prefix/usr/include/hdf5/serial" \
  -DHDF5_C_LIBRARIES="$lib/hdf5/serial/libhdf5.so" \
  -DHDF5_FOUND=ON -DHDF5_C_FOUND=ON \
  -DBoost_INCLUDE_DIR="$prefix/usr/include" \
  -DCBLAS_INCLUDE_DIR="$prefix/usr/include/x86_64-linux-gnu/openblas-pthread" \
  -DOPENBLAS_LIBRARY="$lib/openblas-pthread/libopenblas.so" || exit 1
# FULL_BUILD_TARGETS (space-separated) builds only those, e.g. what check.sh runs.
cmake --build "$build" -j "$(nproc)" ${FULL_BUILD_TARGETS:+--target $FULL_BUILD_TARGETS} || exit 1
