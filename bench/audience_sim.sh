#!/usr/bin/env bash
# The simulated audience (docs/personalisation.md): the labelled bundle
# (bench/labelled_bundle.sh) served on loopback, a fresh database per taste
# scale, and bench/audience_sim.py run against it; curves to
# OUT/scale-S/audience_sim.png, the event log to OUT/scale-S/stories.db.
# CLASSIFIER=1 serves with --classifier W/classifier (candidates carry its
# genre and beat probabilities); CLASS_TASTES=1 adds genre tastes to the
# simulated viewers (audience_sim.py --class-tastes).
# usage: bench/audience_sim.sh   (PF, RUN, W, OUT, VIEWERS, CHOICES, K, SCALES, CLASSIFIER, CLASS_TASTES as
#        environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve_lib.sh
PF=${PF:-build/bin/plotforge}
RUN=${RUN:-build/bin/plotforge-run}
W=${W:-runs/bench-arc}
OUT=${OUT:-runs/audience-sim}
PF=$PF W=$W bench/labelled_bundle.sh
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
for scale in ${SCALES:-1 2}; do
  log=$(mktemp -d)
  start_server $log --bundle $W/bundle --db $log/stories.db ${CLASSIFIER:+--classifier $W/classifier}
  echo
  echo "== taste scale $scale: ${VIEWERS:-200} viewers x ${CHOICES:-30} choices, k = ${K:-3} of $((2 * ${K:-3}))"
  python3 bench/audience_sim.py --url $url --out $OUT/scale-$scale --viewers ${VIEWERS:-200} \
    --choices ${CHOICES:-30} --k ${K:-3} --taste-scale $scale ${CLASS_TASTES:+--class-tastes}
  kill -TERM $pid
  wait $pid
  cp $log/stories.db $OUT/scale-$scale/stories.db  # the event log, for plotforge-run analytics
  rm -rf $log
done
