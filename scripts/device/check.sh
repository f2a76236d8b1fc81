#!/usr/bin/env bash
# The GPU device check: run on a lent GPU machine from the repository root.
#
#   scripts/device/fetch_debs.sh      # here, once: Debian .debs into .deb/
#   run: scripts/device/check.sh      # there, with carry [".deb"]
#
# Builds kernels/ (the CUDA kernels need only CUDA and GoogleTest, which
# travels as a .deb unpacked into a private prefix), runs the `gpu` tests,
# compute-sanitizer memcheck and racecheck on a small slice of them, then the
# attention benchmarks beside torch's SDPA, and writes everything under $OUT:
# check.log, ours.csv, sdpa.csv, report.md. A failing step is reported and
# the independent steps after it still run; the exit status is non-zero if any
# step failed. Ends with a summary table.
set -uo pipefail
OUT=${OUT:-/tmp/plotforge-device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/check.log") 2>&1
cd "$(dirname "$0")/../.."
status=0
declare -a summary
step() {  # step NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then summary+=("ok    $name ($((SECONDS - t0)) s)"); else status=1; summary+=("FAIL  $name ($((SECONDS - t0)) s)"); fi
}

echo "date: $(date -u +%FT%TZ)  commit: ${PLOTFORGE_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
nvcc --version | tail -2
python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' || true

PREFIX=/tmp/plotforge-prefix
mkdir -p "$PREFIX"
for f in .deb/*.deb; do [ -e "$f" ] && dpkg -x "$f" "$PREFIX"; done

step configure cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLOTFORGE_KERNELS_ONLY=ON \
  -DCMAKE_PREFIX_PATH="$PREFIX/usr"
step build cmake --build build-device -j "$(nproc)"
step gpu-tests ctest --test-dir build-device -L gpu --output-on-failure --timeout 300
if command -v compute-sanitizer >/dev/null; then
  small='Shapes/AttentionForwardGpu.MatchesReference/B2H4KV4Tq100Tk100D64Full:Shapes/AttentionForwardGpu.MatchesReference/B2H4KV1Tq33Tk190D128Causal:Shapes/DecodeAttentionGpu.MatchesReference/H8KV2D128Block16Lens_1_15_16_17'
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 9 build-device/tests/kernels/attention_gpu_test --gtest_filter="$small"
  step racecheck compute-sanitizer --tool racecheck --error-exitcode 9 build-device/tests/kernels/attention_gpu_test --gtest_filter="$small"
fi
step bench-ours bash -c "build-device/bench/attention_bench > '$OUT/ours.csv'"
step bench-sdpa bash -c "PYTHONUNBUFFERED=1 python3 scripts/device/sdpa_bench.py > '$OUT/sdpa.csv'"
step report bash -c "python3 scripts/device/report.py '$OUT/ours.csv' '$OUT/sdpa.csv' > '$OUT/report.md'"

# Then the whole toolkit against the image's torch, best effort: the trainer
# and runtime GPU checks (issues 3, 4, 7) need it. Bounded so a failure costs
# little device time; its log comes back under $OUT.
if [ "${PLOTFORGE_FULL_BUILD:-1}" = 1 ]; then
  step full-build timeout 300 bash -c "scripts/device/full_build.sh '$PREFIX' build-device-full > '$OUT/full-build.log' 2>&1"
  if [ -x build-device-full/cli/plotforge ]; then
    export LD_LIBRARY_PATH=$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    # The model's attention through our kernels (autograd, vs libtorch's).
    step fused-attention ctest --test-dir build-device-full -L gpu -R FusedAttention --output-on-failure --timeout 120
    # Issue 4: a world of one through the NCCL path (store, unique id,
    # communicator, bucketed all-reduce on its own stream), on the sample
    # corpus fetch_debs.sh prepared.
    step nccl-world-1 bash -c "RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 \
      timeout 150 build-device-full/cli/plotforge train --config configs/tiny.ini --data .deb/sample-corpus.h5 \
      --out /tmp/nccl-world-1 --device cuda --max-steps 100 --eval-every 50 > '$OUT/nccl-world-1.log' 2>&1"
    # Issue 7: the runtime's CUDA backend against its CPU backend, then a
    # batch sweep of both on small.ini (head_dim 64) trained briefly here.
    # Issue 7: transformers' LlamaForCausalLM loads a bundle with our logits.
    step hf-parity ctest --test-dir build-device-full -R TransformersLoads --output-on-failure --timeout 180
    step runtime-cuda-tests ctest --test-dir build-device-full -L gpu -R RuntimeCuda --output-on-failure --timeout 180
    step runtime-bench bash -c "set -e; pf=build-device-full/cli/plotforge; run=build-device-full/inference/plotforge-run
      timeout 100 \$pf train --config configs/small.ini --data .deb/sample-corpus.h5 --out /tmp/rt-small --device cuda \
        --max-steps 30 --eval-every 30 --quiet
      \$pf export --checkpoint /tmp/rt-small --out /tmp/rt-small-bundle
      for d in cuda cpu; do echo \"== --device \$d\"; timeout 120 \$run bench --bundle /tmp/rt-small-bundle --device \$d; done \
        > '$OUT/runtime-bench.txt' 2>&1"
  fi
fi

cat "$OUT/report.md" 2>/dev/null
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
