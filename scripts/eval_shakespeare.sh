#!/usr/bin/env bash
# The scene study behind docs/evaluation.md: on the 37 Shakespeare plays
# (../shared/corpora/shakespeare, or SHAKESPEARE=DIR), train the
# unconditional Transformer, the VAE, the latent GAN and the scene
# classifier on one tokenizer and corpus, then run 'plotforge eval' and
# plot the quality-diversity plane. About 40 minutes on two CPU cores.
#
#   scripts/eval_shakespeare.sh [WORKDIR]      (default runs/scenes)
#
# Re-running resumes each model from its newest checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-runs/scenes}
SRC=${SHAKESPEARE:-../shared/corpora/shakespeare}
PF=build/bin/plotforge
[ -x $PF ] || { echo "build first: cmake -S . -B build -G Ninja && cmake --build build" >&2; exit 1; }
[ -d "$SRC" ] || { echo "$SRC: no such directory; set SHAKESPEARE=DIR to the plays" >&2; exit 1; }
mkdir -p "$W"
[ -f "$W/tok.model" ] || $PF tokenizer train --input "$SRC" --out "$W/tok.model" --vocab-size 4000
[ -f "$W/corpus.h5" ] || $PF prepare --input "$SRC" --tokenizer "$W/tok.model" --out "$W/corpus.h5" --val-fraction 0.15 --quiet
train() {  # NAME CONFIG [extra options]
  local name=$1 config=$2
  shift 2
  echo "== $name"
  /usr/bin/time -f "$name: %e s wall" $PF train --config "$config" --data "$W/corpus.h5" --out "$W/$name" --resume "$@"
}
train transformer configs/scenes-transformer.ini
train vae configs/scenes-vae.ini --vae.init_decoder "$W/transformer"
train gan configs/scenes-gan.ini --gan.vae "$W/vae"
train classifier configs/scenes-classifier.ini
echo "== eval"
$PF eval --data "$W/corpus.h5" --out "$W/eval" --transformer "$W/transformer" --vae "$W/vae" --gan "$W/gan" \
  --classifier "$W/classifier" --samples 60 --temperatures 0.6,0.8,1.0,1.2 --max-new-tokens 200
python3 scripts/plot_eval.py "$W/eval"
cat "$W/eval/report.txt"
