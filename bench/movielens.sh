#!/usr/bin/env bash
# MovieLens-100k under Microsoft recommenders' protocol (stratified 75/25 per
# user, top 10), every plotforge recommender, with the time each took
# (numbers go to docs/recommendation.md). The ratings and genres come from
# the PyPI wheel recbole==1.2.1 (research use only, no redistribution):
# fetched with pip download into W (runs/ is ignored), never committed, and
# used by no default test.
# usage: bench/movielens.sh   (PF, W, SEED as environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
W=${W:-runs/ml-100k}
SEED=${SEED:-1}
mkdir -p $W
if [ ! -f $W/ml-100k.inter ]; then
  pip download recbole==1.2.1 --no-deps -d $W -q
  unzip -o -j -q $W/recbole-1.2.1-py3-none-any.whl 'recbole/dataset_example/ml-100k/ml-100k.inter' \
    'recbole/dataset_example/ml-100k/ml-100k.item' -d $W
fi
# Item features: release year and genres (RecBole separates them by spaces).
python3 - $W/ml-100k.item $W/items.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="latin-1"), delimiter="\t"))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["item", "year", "genre"])
    for r in rows[1:]:
        year = r[2] if r[2].isdigit() else "1990"
        w.writerow([r[0], year, "|".join(r[3].split())])
PY
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
for m in "popularity" "itemknn --item-features $W/items.csv" "als" "bpr" "hybrid --item-features $W/items.csv"; do
  $PF recommend eval --interactions $W/ml-100k.inter --model $m --k 10 --seed $SEED 2> /dev/null
done
