#!/usr/bin/env bash
# Runtime benchmark on the CPU, side by side in one run (numbers go to
# docs/perf/runtime-cpu.md). For the shakespeare-char and small configs, and
# a 24-layer 768-wide model too large for the caches:
#  1. plotforge generate (libtorch, KV cache) against plotforge-run generate,
#     batch 1, greedy, the same checkpoint and prompt;
#  2. plotforge-run bench: prefill, decode over batch sizes against the
#     memory bandwidth measured in the same run, and the branching workload
#     with prefix sharing off and on.
# Speed does not depend on the weights' values, so the models are trained for
# a few steps only. usage: bench/runtime_cpu.sh
# PF and RUN name other builds' programs (to compare commits side by side),
# NAMES a subset of the models, W the working directory.
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
RUN=${RUN:-build/bin/plotforge-run}
W=${W:-runs/bench-runtime}
NAMES=${NAMES:-shakespeare-char small large}
mkdir -p $W
corpus=../shared/corpora/tinyshakespeare.txt
if [ ! -f $W/char.h5 ]; then
  $PF tokenizer train --input $corpus --out $W/char.model --model-type char --vocab-size 200 > /dev/null
  $PF prepare --input $corpus --tokenizer $W/char.model --out $W/char.h5 --quiet > /dev/null
fi
declare -A extra=(
  [shakespeare-char]="--max-steps 20"
  [small]="--max-steps 3 --batch-size 4"
  [large]="--max-steps 1 --batch-size 1 --model.context 256"
)
for name in $NAMES; do
  cfg=configs/$name.ini
  [ $name = large ] && cfg=configs/gpt2-124m.ini && extra[large]+=" --model.n_layers 24"
  if [ ! -d $W/bundle-$name ]; then
    $PF train --config $cfg --data $W/char.h5 --out $W/run-$name ${extra[$name]} --eval-every 1000 --checkpoint-every 1000 --quiet > /dev/null
    $PF export --checkpoint $W/run-$name --out $W/bundle-$name > /dev/null
  fi
  echo "=================== $name"
  ctx=$(python3 -c "import json; print(json.load(open('$W/bundle-$name/config.json'))['max_position_embeddings'])")
  n=$(( ctx - 8 < 200 ? ctx - 8 : 200 ))
  echo "-- batch 1, greedy, $n new tokens after a short prompt"
  $PF generate --checkpoint $W/run-$name --temperature 0 --max-new-tokens $n --prompt "ROMEO:" 2>&1 >/dev/null | grep tokens/s
  $RUN generate --bundle $W/bundle-$name --temperature 0 --max-new-tokens $n --prompt "ROMEO:" 2>&1 >/dev/null | grep tokens/s
  prefix=$(( ctx * 3 / 4 ))
  $RUN bench --bundle $W/bundle-$name --decode-tokens $(( ctx / 2 )) --prompt-tokens $(( ctx - 1 )) \
    --prefix-tokens $prefix --branch-tokens 16 --sessions 4 --branches 10
done
