#!/usr/bin/env bash
# The serving tests' bundle: the sample corpus, a 2000-piece tokenizer and
# the tiny Transformer trained for 60 steps, exported; beside it a scene
# classifier trained for 30 steps, exported to OUT_DIR/classifier. Quality
# is beside the point; the control tokens (genres, beats, emotions) are real.
# usage: make_bundle.sh BIN_DIR OUT_DIR
set -euo pipefail
bin=$1
out=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out"
mkdir -p "$out"
"$bin/plotforge" tokenizer train --input "$src/data/sample" --out "$out/tok.model" --vocab-size 2000 >/dev/null
"$bin/plotforge" prepare --quiet --input "$src/data/sample" --tokenizer "$out/tok.model" --out "$out/corpus.h5" \
  --val-fraction 0.25 >/dev/null
"$bin/plotforge" train --config "$src/configs/tiny.ini" --data "$out/corpus.h5" --out "$out/run" --max-steps 60 \
  --eval-every 60 --checkpoint-every 60 --log-every 60 >/dev/null
"$bin/plotforge" export --checkpoint "$out/run" --out "$out/bundle" >/dev/null
"$bin/plotforge" train --kind classifier --config "$src/configs/tiny.ini" --data "$out/corpus.h5" \
  --out "$out/classifier-run" --max-steps 30 --eval-every 30 --checkpoint-every 30 --log-every 30 >/dev/null
"$bin/plotforge" export --checkpoint "$out/classifier-run" --out "$out/classifier" >/dev/null
echo "bundle: $out/bundle"
