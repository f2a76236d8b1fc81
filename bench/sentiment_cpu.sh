#!/usr/bin/env bash
# Sentiment scoring speed on the 37 plays, side by side in one run (numbers
# go to docs/perf/sentiment-cpu.md): every dialogue line, scored by
# `plotforge sentiment` (emotion/vader.h) on one and two threads, and by the
# PyPI vadersentiment 3.3.2 package on the same lines. Each is timed around
# the scoring alone (lexicon loading and file reading excluded), best of 3.
# usage: bench/sentiment_cpu.sh   (PF as an environment override)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
plays=../shared/corpora/shakespeare
[ -d $plays ] || { echo "bench/sentiment_cpu.sh: needs $plays (the shared corpora)"; exit 1; }
W=$(mktemp -d)
trap 'rm -rf $W' EXIT
$PF sentiment --json $plays/*.fountain 2> /dev/null |
  python3 -c "import json, sys; open(sys.argv[1], 'w').write('\n'.join(r['text'] for r in json.load(sys.stdin)))" \
    $W/lines.txt
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
echo "== $(ls $plays/*.fountain | wc -l) plays, $(wc -l < $W/lines.txt) dialogue lines"
for t in 1 2; do
  for rep in 1 2 3; do
    $PF sentiment --lines --quiet --threads $t $W/lines.txt 2>&1
  done
done
python3 - $W/lines.txt <<'PY'
import sys, time
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
lines = open(sys.argv[1]).read().split("\n")
a = SentimentIntensityAnalyzer()
best = 1e9
for _ in range(3):
    t0 = time.perf_counter()
    for l in lines:
        a.polarity_scores(l)
    best = min(best, time.perf_counter() - t0)
print("vadersentiment 3.3.2 (Python %s): %d lines in %.3f s (%.0f lines/s, 1 thread, best of 3)"
      % (sys.version.split()[0], len(lines), best, len(lines) / best))
PY
