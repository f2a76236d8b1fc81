#!/usr/bin/env bash
# Builds (once) the bundle the emotion and audience benchmarks serve: a
# unigram tokenizer of 2,000 pieces and the 37 plays prepared with derived
# labels (prepare --label-emotions), configs/scenes-transformer.ini trained
# for STEPS steps on them, exported to W/bundle.
# usage: bench/labelled_bundle.sh   (PF, W, STEPS as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
W=${W:-runs/bench-arc}
STEPS=${STEPS:-800}
plays=../shared/corpora/shakespeare
mkdir -p $W
[ -d $W/bundle ] && exit 0
$PF tokenizer train --input $plays --out $W/tok.model --vocab-size 2000 > /dev/null
$PF prepare --input $plays --tokenizer $W/tok.model --out $W/labelled.h5 --label-emotions --quiet
$PF train --config configs/scenes-transformer.ini --data $W/labelled.h5 --out $W/run --max-steps $STEPS --quiet
$PF export --checkpoint $W/run --out $W/bundle > /dev/null
