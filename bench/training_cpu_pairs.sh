#!/usr/bin/env bash
# The before/after pairs of docs/perf/training-cpu.md (issue 20), alternated
# in one run: 300 steps of shakespeare-char without evaluation, two ranks
# started by plotforge train (shared memory) or by hand as torchrun would
# (Gloo over loopback TCP), each with fp32 and bf16 products. Wall time of
# the whole command, three rounds.
# usage: bench/training_cpu_pairs.sh   (PF as an environment override)
set -euo pipefail
cd "$(dirname "$0")/.."
W=runs/bench-side-by-side
PF=${PF:-build/bin/plotforge}
[ -f $W/char.h5 ] || { echo "training_cpu_pairs: $W/char.h5 is missing; scripts/bench_training_cpu.sh makes it" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common="train --config configs/shakespeare-char.ini --data $W/char.h5 --max-steps 300 --eval-every 100000 --checkpoint-every 100000 --quiet"
t() { local s=$(date +%s.%N); "$@" > /dev/null 2>&1; local e=$(date +%s.%N); python3 -c "print(f'{$e-$s:.2f}')"; }
gloo() {  # two ranks by hand, as torchrun would start them: Gloo over loopback TCP
  local port=$((20000 + RANDOM % 20000)) out=$1; shift
  RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OMP_NUM_THREADS=1 $PF $common --out $out --batch-size 6 "$@" &
  RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OMP_NUM_THREADS=1 $PF $common --out $out --batch-size 6 "$@"
  wait
}
for i in 1 2 3; do
  rm -rf "$tmp"/o*
  a=$(t $PF $common --out $tmp/oa --cpu-matmul fp32)
  b=$(t $PF $common --out $tmp/ob --cpu-matmul bf16)
  c=$(t gloo $tmp/oc --cpu-matmul bf16)
  d=$(t gloo $tmp/od --cpu-matmul fp32)
  echo "round $i: shm+fp32 $a s | shm+bf16 $b s | gloo+bf16 $c s | gloo+fp32 $d s"
done
