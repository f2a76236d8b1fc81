#!/usr/bin/env bash
# Builds (once) what the emotion and audience benchmarks serve: a bpe
# tokenizer of 2,000 pieces and the 37 plays prepared with derived labels
# (prepare --label-emotions); configs/scenes-transformer.ini trained for
# STEPS steps on them, exported to W/bundle; and configs/scenes-classifier.ini
# trained for CLASSIFIER_STEPS steps on the same corpus, exported to
# W/classifier. Each step runs only if its output is missing.
# usage: bench/labelled_bundle.sh   (PF, W, STEPS, CLASSIFIER_STEPS as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
W=${W:-runs/bench-arc}
STEPS=${STEPS:-800}
CLASSIFIER_STEPS=${CLASSIFIER_STEPS:-300}
plays=../shared/corpora/shakespeare
mkdir -p $W
[ -f $W/tok.model ] || $PF tokenizer train --input $plays --out $W/tok.model --vocab-size 2000 > /dev/null
[ -f $W/labelled.h5 ] || $PF prepare --input $plays --tokenizer $W/tok.model --out $W/labelled.h5 --label-emotions --quiet
if [ ! -d $W/bundle ]; then
  $PF train --config configs/scenes-transformer.ini --data $W/labelled.h5 --out $W/run --max-steps $STEPS --quiet
  $PF export --checkpoint $W/run --out $W/bundle > /dev/null
fi
if [ ! -d $W/classifier ]; then
  $PF train --config configs/scenes-classifier.ini --data $W/labelled.h5 --out $W/classifier-run \
    --max-steps $CLASSIFIER_STEPS --quiet
  $PF export --checkpoint $W/classifier-run --out $W/classifier > /dev/null
fi
