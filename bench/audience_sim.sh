#!/usr/bin/env bash
# The simulated audience (docs/personalisation.md): the labelled bundle
# (bench/labelled_bundle.sh) served on loopback with a fresh database, and
# bench/audience_sim.py run against it; curves to OUT/audience_sim.png.
# usage: bench/audience_sim.sh   (PF, RUN, W, OUT, VIEWERS, CHOICES, K as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
RUN=${RUN:-build/bin/plotforge-run}
W=${W:-runs/bench-arc}
OUT=${OUT:-runs/audience-sim}
PF=$PF W=$W bench/labelled_bundle.sh
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
log=$(mktemp -d)
$RUN serve --bundle $W/bundle --port 0 --db $log/stories.db > $log/out 2> $log/err &
pid=$!
for _ in $(seq 600); do grep -q ' at http' $log/out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.* at \(http[^ ]*\)$/\1/p' $log/out)
[ -n "$url" ] || { cat $log/err; exit 1; }
python3 bench/audience_sim.py --url $url --out $OUT --viewers ${VIEWERS:-200} --choices ${CHOICES:-30} --k ${K:-3}
kill -TERM $pid
wait $pid
cp $log/stories.db $OUT/stories.db  # the event log, for plotforge-run analytics
rm -rf $log
