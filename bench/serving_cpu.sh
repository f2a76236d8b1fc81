#!/usr/bin/env bash
# Serving benchmark on the CPU, side by side in one run (numbers go to
# docs/perf/serving-cpu.md): on the `small` bundle,
#  1. plotforge-run bench: the engine alone (prefill of one P-token prompt,
#     decode at batch 1, 8 and 32) and the requests workload: the same load
#     as step 2 through the scheduler in-process, without HTTP;
#  2. plotforge-run serve on a loopback port, loaded by bench/serving_load.py
#     at concurrency 1, 8 and 32 (streamed, greedy, P-token prompts, M new
#     tokens each, ignore_eos).
# The small bundle is built as bench/runtime_cpu.sh builds it (speed does
# not depend on the weights' values: 3 training steps).
# usage: bench/serving_cpu.sh   (PF, RUN, W, P, M, K as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
RUN=${RUN:-build/bin/plotforge-run}
W=${W:-runs/bench-runtime}
P=${P:-128}  # prompt tokens
M=${M:-64}   # new tokens per request
K=${K:-4}    # requests per client
mkdir -p $W
corpus=../shared/corpora/tinyshakespeare.txt
[ -f $corpus ] || corpus=data/sample
if [ ! -d $W/bundle-small ]; then
  if [ ! -f $W/char.h5 ]; then
    $PF tokenizer train --input $corpus --out $W/char.model --model-type char --vocab-size 200 > /dev/null
    $PF prepare --input $corpus --tokenizer $W/char.model --out $W/char.h5 --quiet > /dev/null
  fi
  $PF train --config configs/small.ini --data $W/char.h5 --out $W/run-small --max-steps 3 --batch-size 4 \
    --eval-every 1000 --checkpoint-every 1000 --quiet > /dev/null
  $PF export --checkpoint $W/run-small --out $W/bundle-small > /dev/null
fi
B=$W/bundle-small
vocab=$(python3 -c "import json; print(json.load(open('$B/config.json'))['vocab_size'])")
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
echo "== 1. the engine: plotforge-run bench --bundle $B --batch-sizes 1,8,32 --prompt-tokens $P --decode-tokens $M --concurrency 1,8,32 --requests-per-client $K"
$RUN bench --bundle $B --batch-sizes 1,8,32 --prompt-tokens $P --decode-tokens $M --sessions 1 --branches 1 --repeats 1 \
  --concurrency 1,8,32 --requests-per-client $K
echo
echo "== 2. the server: plotforge-run serve --bundle $B, bench/serving_load.py at concurrency 1, 8, 32"
log=$(mktemp)
$RUN serve --bundle $B --port 0 --max-running 64 > $log.out 2> $log &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f $log $log.out' EXIT
for _ in $(seq 600); do grep -q ' at http' $log.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.* at \(http[^ ]*\)$/\1/p' $log.out)
[ -n "$url" ] || { echo "the server did not start:"; cat $log; exit 1; }
python3 bench/serving_load.py --url $url --model bundle-small --vocab $vocab --concurrency 1,8,32 \
  --requests-per-client $K --prompt-tokens $P --max-tokens $M
kill -TERM $pid
wait $pid
echo "server exit status: $?"
