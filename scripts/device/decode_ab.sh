#!/usr/bin/env bash
# On the GPU machine: the paged decode kernel against an earlier version of
# it, side by side in one run (docs/perf/attention-h200.md). Builds kernels/
# twice, this tree and a copy whose kernels/decode_attention.cu is OLD (a
# file carried along, e.g. .deb/old/decode_attention.cu from `git show
# REV:kernels/decode_attention.cu`); runs the decode tests and
# compute-sanitizer on this tree's kernel; then `attention_bench decode`
# from each build, alternating, ROUNDS times. usage:
#   run: scripts/device/decode_ab.sh .deb/old/decode_attention.cu   (carry .deb)
set -uo pipefail
old=$1
OUT=${OUT:-/tmp/plotforge-device-out}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/decode-ab.log") 2>&1
cd "$(dirname "$0")/../.."
status=0
PREFIX=/tmp/plotforge-prefix
mkdir -p "$PREFIX"
for f in .deb/libgtest-dev_*.deb; do dpkg -x "$f" "$PREFIX"; done
rm -rf /tmp/old-tree && mkdir -p /tmp/old-tree &&
  tar --exclude=./.deb --exclude=./runs --exclude='./build*' -cf - . | tar -xf - -C /tmp/old-tree &&
  cp "$old" /tmp/old-tree/kernels/decode_attention.cu
conf() { cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLOTFORGE_KERNELS_ONLY=ON \
  -DCMAKE_PREFIX_PATH="$PREFIX/usr" > /dev/null && cmake --build "$2" -j 8 > "/tmp/$(basename "$2").log" 2>&1 || { tail -20 "/tmp/$(basename "$2").log"; exit 1; }; }
conf . build-device-new & a=$!
conf /tmp/old-tree /tmp/build-device-old & b=$!
wait $a || status=1
wait $b || status=1
[ $status = 0 ] || { echo "build failed"; exit 1; }
echo "=== decode tests (this tree)"
ctest --test-dir build-device-new -L gpu -R "Decode" --output-on-failure --timeout 120 || status=1
filter='Shapes/DecodeAttentionGpu.*'
for tool in memcheck racecheck; do
  echo "=== $tool"
  compute-sanitizer --tool $tool --error-exitcode 9 build-device-new/tests/kernels/attention_gpu_test \
    --gtest_filter="$filter" 2>&1 | grep -E "SUMMARY|PASSED|FAILED|Error" || true
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
done
for r in $(seq "$ROUNDS"); do
  build-device-new/kernels/bench/attention_bench decode > "$OUT/decode-new-$r.csv" || status=1
  /tmp/build-device-old/kernels/bench/attention_bench decode > "$OUT/decode-old-$r.csv" || status=1
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import csv, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def rows(tag):
    got = {}
    for r in range(1, rounds + 1):
        for row in csv.DictReader(open(f"{out}/decode-{tag}-{r}.csv")):
            key = (row["kind"], row["batch"], row["seq"])
            got.setdefault(key, []).append(float(row["gbps"]))
    return got
new, old = rows("new"), rows("old")
copy = statistics.median(new[("copy", "", "")] + old[("copy", "", "")])
print(f"\ncopy bandwidth, same run: {copy:.0f} GB/s (read + write)\n")
print("| sequences | context | old GB/s | new GB/s | new / old | new, % of copy |\n|---|---|---|---|---|---|")
for key in new:
    if key[0] != "decode": continue
    o, n = statistics.median(old[key]), statistics.median(new[key])
    print(f"| {key[1]} | {key[2]} | {o:.0f} | {n:.0f} | {n / o:.2f} | {100 * n / copy:.0f}% |")
PY
exit $status
