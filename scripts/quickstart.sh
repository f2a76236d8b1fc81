#!/usr/bin/env bash
# Sets up, builds, prepares the bundled sample corpus and shows what the
# dataset layer makes of it. (Training and generation arrive with the
# Transformer; see README.md's roadmap.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
PF=build/cli/plotforge
mkdir -p runs/quickstart
$PF inspect data/sample/hamlet.fountain
$PF tokenizer train --input data/sample --out runs/quickstart/tok.model --vocab-size 4000
$PF prepare --input data/sample --tokenizer runs/quickstart/tok.model --out runs/quickstart/corpus.h5
echo "quickstart: corpus ready at runs/quickstart/corpus.h5"
