#!/usr/bin/env bash
# nanoGPT and plotforge on the shakespeare-char run, one after the other in
# the same run on the same machine (issue 20; numbers go to
# docs/perf/training-cpu.md and the README): nanoGPT at commit 3adf61e from
# ../shared/peers/nanogpt with its README's CPU settings (run_cpu.sh), then
# `plotforge train --config configs/shakespeare-char.ini` (the same model
# size, batch, context, iterations and schedule). Prints both wall times,
# both validation losses and the ratio.
# usage: scripts/bench_training_cpu.sh   (PF, W as environment overrides;
#        PF_ARGS: more `plotforge train` options, e.g. "--cpu-matmul fp32" to
#        see a CPU without AMX's default on one that has it)
set -euo pipefail
cd "$(dirname "$0")/.."
PF=${PF:-build/bin/plotforge}
W=${W:-runs/bench-side-by-side}
peer=../shared/peers/nanogpt/run_cpu.sh
[ -x $peer ] || { echo "bench_training_cpu: $peer is missing (the shared peers folder beside the clone)" >&2; exit 1; }
mkdir -p $W
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
corpus=../shared/corpora/tinyshakespeare.txt
if [ ! -f $W/char.h5 ]; then
  $PF tokenizer train --input $corpus --out $W/char.model --model-type char --vocab-size 200 > /dev/null
  $PF prepare --input $corpus --tokenizer $W/char.model --out $W/char.h5 --quiet > /dev/null
fi
echo "== OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-(unset: the kernels OpenBLAS detects for nanoGPT)}"
echo "== plotforge's $($PF system | grep '^blas:')"
echo "== nanoGPT"
nano=$($peer "$(cd $W && pwd)/nanogpt" | tail -1)  # run_cpu.sh needs an absolute WORKDIR
echo "$nano"
echo "== plotforge"
rm -rf $W/char-run
t0=$(date +%s.%N)
$PF train --config configs/shakespeare-char.ini --data $W/char.h5 --out $W/char-run ${PF_ARGS:-} 2>&1 | grep -E "^(Transformer|data parallel|gradients|cpu ranks)"
t1=$(date +%s.%N)
python3 - "$W/char-run/metrics.jsonl" "$t0" "$t1" "$nano" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
val = [r["val_loss"] for r in rows if "val_loss" in r][-1]
ours = float(sys.argv[3]) - float(sys.argv[2])
m = re.search(r"([0-9.]+) s wall, val loss ([0-9.]+)", sys.argv[4])
theirs, their_val = float(m.group(1)), float(m.group(2))
print(f"plotforge shakespeare-char CPU: {ours:.1f} s wall, val loss {val:.4f} ({rows[-1]['step']} iterations)")
print()
print("| | wall time, 2000 iterations | val loss |")
print("|---|---|---|")
print(f"| nanoGPT | {theirs:.1f} s | {their_val:.4f} |")
print(f"| plotforge | {ours:.1f} s | {val:.4f} |")
print()
print(f"plotforge / nanoGPT wall time: {ours / theirs:.2f}x (goal: at most 0.5x at val loss <= 1.70)")
PY
