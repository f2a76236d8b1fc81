#!/usr/bin/env bash
# The content side of recommendation on the project's own catalogue
# (docs/recommendation.md): the 37 plays' features from `plotforge
# recommend features`, then bench/plays_catalogue.py's synthetic viewers,
# every model trained and asked through the real programs.
# usage: bench/plays_catalogue.sh   (PF, OUT, SEED as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
OUT=${OUT:-runs/plays-catalogue}
mkdir -p $OUT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
$PF recommend features --scripts ../shared/corpora/shakespeare --out $OUT/items.csv
python3 bench/plays_catalogue.py --pf $PF --items $OUT/items.csv --out $OUT --seed ${SEED:-1}
