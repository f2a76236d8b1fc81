#!/usr/bin/env bash
# Sets up, checks the formatting (scripts/check_format.sh), builds and runs
# the default test suite (labels unit and integration; gpu tests skip
# themselves without a GPU). Extra arguments go to ctest, e.g.
# scripts/test.sh -L unit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check_format.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
cd build
ctest --output-on-failure -j "$(nproc)" -LE slow "$@"
