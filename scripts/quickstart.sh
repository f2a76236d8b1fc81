#!/usr/bin/env bash
# The quickstart: set up, build, prepare the bundled sample corpus, train the
# tiny Transformer for about two minutes on the CPU, and print a generated
# scene. Everything lands in runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
PF=build/bin/plotforge
Q=runs/quickstart
mkdir -p $Q
echo "== what the dataset layer sees in a play"
$PF inspect data/sample/hamlet.fountain
echo "== tokenizer and corpus"
$PF tokenizer train --input data/sample --out $Q/tok.model --vocab-size 4000
$PF prepare --input data/sample --tokenizer $Q/tok.model --out $Q/corpus.h5 --val-fraction 0.25
echo "== training configs/tiny.ini (about two minutes on two cores)"
rm -rf $Q/run
$PF train --config configs/tiny.ini --data $Q/corpus.h5 --out $Q/run
echo "== a generated scene: tragedy, climax"
$PF generate --checkpoint $Q/run --genre tragedy --beat climax --max-new-tokens 120 --temperature 0.8 --top-k 50 \
  --seed 1 | tee $Q/scene.fountain
echo "== the scene parses as Fountain"
$PF inspect $Q/scene.fountain
echo "quickstart: done; loss curves: python3 scripts/plot_metrics.py $Q/run --out $Q/loss.png"
