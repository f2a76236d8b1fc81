#!/usr/bin/env bash
# CPU training benchmark, side by side in one run (numbers go to
# docs/perf/training-cpu.md):
#  1. the shakespeare-char acceptance run: 2000 iterations on tinyshakespeare
#     with a char tokenizer, wall time and validation loss;
#  2. the PyTorch eager reference (scripts/reference) on the same config,
#     ms/iter under Debian's python3-torch;
#  3. tokens/s per config (tiny, shakespeare-char, small) over 30 steps.
# usage: bench/training_cpu.sh [STEPS_FOR_ACCEPTANCE]   (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=build/bin/plotforge
W=runs/bench
steps=${1:-2000}
mkdir -p $W
corpus=../shared/corpora/tinyshakespeare.txt
if [ ! -f $W/char.h5 ]; then
  $PF tokenizer train --input $corpus --out $W/char.model --model-type char --vocab-size 200
  $PF prepare --input $corpus --tokenizer $W/char.model --out $W/char.h5 --quiet
fi
vocab=$(python3 -c "import h5py; print(h5py.File('$W/char.h5').attrs['vocab_size'])")
echo "== 1. shakespeare-char, $steps iterations (plotforge train)"
rm -rf $W/char-run
start=$(date +%s.%N)
$PF train --config configs/shakespeare-char.ini --data $W/char.h5 --out $W/char-run --max-steps "$steps" --quiet
end=$(date +%s.%N)
python3 - "$W/char-run/metrics.jsonl" "$start" "$end" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
val = [r for r in rows if "val_loss" in r]
tps = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"wall {wall:.1f} s for {rows[-1]['step']} steps ({1000 * wall / rows[-1]['step']:.1f} ms/iter incl. eval and checkpoints), "
      f"final val loss {val[-1]['val_loss']:.4f}, median {sorted(tps)[len(tps) // 2]:.0f} tokens/s")
PY
echo "== 2. PyTorch eager reference, same config"
# torch's default thread count (what nanoGPT runs with), then one thread:
# on two cores Debian's torch oversubscribes (its OpenMP threads and
# OpenBLAS's own), so one thread is the faster baseline.
/usr/bin/python3 bench/train_step_reference.py configs/shakespeare-char.ini "$vocab" 200
/usr/bin/python3 bench/train_step_reference.py configs/shakespeare-char.ini "$vocab" 200 1
echo "== 3. tokens/s per config (30 steps each, char vocabulary)"
for cfg in tiny shakespeare-char small; do
  rm -rf $W/tp-$cfg
  $PF train --config configs/$cfg.ini --data $W/char.h5 --out $W/tp-$cfg --max-steps 30 --eval-every 1000 \
    --checkpoint-every 1000 --log-every 1 --quiet > /dev/null
  python3 - "$W/tp-$cfg/metrics.jsonl" "$cfg" <<'PY'
import json, sys
tps = [json.loads(l)["tokens_per_s"] for l in open(sys.argv[1]) if "tokens_per_s" in l][5:]
print(f"{sys.argv[2]:18s} {sorted(tps)[len(tps) // 2]:8.0f} tokens/s (median of steps 6-30)")
PY
done
