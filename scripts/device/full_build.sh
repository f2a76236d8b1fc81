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
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$torch_cmake" -DNCCL_ROOT="$nccl_root" \
  -DHDF5_C_INCLUDE_DIRS="$prefix/usr/include/hdf5/serial" \
  -DHDF5_C_LIBRARIES="$lib/hdf5/serial/libhdf5.so" \
  -DHDF5_FOUND=ON -DHDF5_C_FOUND=ON \
  -DBoost_INCLUDE_DIR="$prefix/usr/include" \
  -DCBLAS_INCLUDE_DIR="$prefix/usr/include/x86_64-linux-gnu/openblas-pthread" \
  -DOPENBLAS_LIBRARY="$lib/openblas-pthread/libopenblas.so" || exit 1
cmake --build "$build" -j "$(nproc)" || exit 1
