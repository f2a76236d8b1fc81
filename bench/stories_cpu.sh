#!/usr/bin/env bash
# The branching-story workload through the HTTP API, prefix cache on and off
# side by side in one run (numbers go to docs/perf/stories-cpu.md): S stories
# at once, each opening on a ~512-token premise, K candidates of up to M
# tokens per step, STEPS steps each, on the `small` configuration with its
# context raised to 1024 (a 512-token story and five passages must fit).
# The bundle is trained for 3 steps: speed does not depend on the weights.
# usage: bench/stories_cpu.sh   (PF, RUN, W, S, K, M, STEPS as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve_lib.sh
PF=${PF:-build/bin/plotforge}
RUN=${RUN:-build/bin/plotforge-run}
W=${W:-runs/bench-runtime}
S=${S:-32}
K=${K:-3}
M=${M:-64}
STEPS=${STEPS:-5}
mkdir -p $W
corpus=../shared/corpora/tinyshakespeare.txt
[ -f $corpus ] || corpus=data/sample/hamlet.fountain
if [ ! -d $W/bundle-small-1k ]; then
  if [ ! -f $W/char.h5 ]; then
    $PF tokenizer train --input $corpus --out $W/char.model --model-type char --vocab-size 200 > /dev/null
    $PF prepare --input $corpus --tokenizer $W/char.model --out $W/char.h5 --quiet > /dev/null
  fi
  $PF train --config configs/small.ini --data $W/char.h5 --out $W/run-small-1k --model.context 1024 --max-steps 3 \
    --batch-size 2 --eval-every 1000 --checkpoint-every 1000 --quiet > /dev/null
  $PF export --checkpoint $W/run-small-1k --out $W/bundle-small-1k > /dev/null
fi
B=$W/bundle-small-1k
# A 510-character opening: with the character tokenizer, about 512 tokens with its control line.
python3 -c "import sys; t=open(sys.argv[1]).read(); print(t[2000:2510], end='')" $corpus > $W/premise.txt
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
echo "== $S stories x $STEPS steps x $K candidates of up to $M tokens on a $(wc -c < $W/premise.txt)-character opening"
echo
echo "| prefix cache | passages | seconds | passages/s | choose to first token p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
for cache in true false; do
  log=$(mktemp -d)
  start_server $log --bundle $B --db $log/stories.db --prefix-cache $cache
  python3 bench/stories_load.py --url $url --premise-file $W/premise.txt --stories $S --k $K --steps $STEPS \
    --max-tokens $M --label "$([ $cache = true ] && echo on || echo off)"
  hits=$(curl -s $url/metrics | awk '/^plotforge:prefix_cache_hits_total /{h=$2} /^plotforge:prefix_cache_queries_total /{q=$2} END{if (q>0) printf "%.0f%% (%d of %d blocks)", 100*h/q, h, q; else print "-"}')
  echo "  prefix-cache hit rate ($cache): $hits" >&2
  kill -TERM $pid
  wait $pid
  rm -rf $log
done
