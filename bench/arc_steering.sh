#!/usr/bin/env bash
# Arc steering, end to end (numbers go to docs/emotion.md, "Arc steering"):
# the labelled bundle (bench/labelled_bundle.sh) served on loopback, and
# bench/arc_steering.py run against it for each K in KS.
# usage: bench/arc_steering.sh   (PF, RUN, W, STEPS, KS, STORIES as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve_lib.sh
PF=${PF:-build/bin/plotforge}
RUN=${RUN:-build/bin/plotforge-run}
W=${W:-runs/bench-arc}
STEPS=${STEPS:-800}
KS=${KS:-4 8}
STORIES=${STORIES:-20}
PF=$PF W=$W STEPS=$STEPS bench/labelled_bundle.sh
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
for k in $KS; do
  log=$(mktemp -d)
  start_server $log --bundle $W/bundle --db $log/stories.db
  echo
  echo "== k = $k, $STORIES stories per shape, 8 passages, 48 tokens each"
  python3 bench/arc_steering.py --url $url --stories $STORIES --k $k --json $W/arc-k$k.json
  kill -TERM $pid
  wait $pid
  rm -rf $log
done
