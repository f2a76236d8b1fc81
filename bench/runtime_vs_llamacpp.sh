#!/usr/bin/env bash
# plotforge-run against llama.cpp on the same weights, side by side in one
# run on one machine (issue 21; the numbers go to docs/perf/runtime-cpu.md).
# A benchmark-only set-up, never run by CTest or CI:
#   LLAMA   a llama.cpp source tree built for this CPU (build/bin/llama-bench,
#           build/bin/llama-batched-bench), e.g. the one PyPI's
#           llama-cpp-python sdist vendors (vendor/llama.cpp)
#   LLAMA_BUILD  its build directory, if not $LLAMA/build
#   PY      a python with torch, transformers and sentencepiece, for
#           llama.cpp's convert_hf_to_gguf.py (bench/llamacpp_convert.py runs
#           it under Debian's torch 1.13)
# Each bundle is converted to GGUF f32, f16, bf16 and q8_0; plotforge-run
# keeps the bundle's weights in the same precision (--weights). For each
# precision the two programs alternate REPEATS times on 2 threads: decode at
# batch 1, 8 and 32 (16-token prompts), prefill of 64 and 512 tokens (512
# where the context allows); medians are printed as a Markdown table, with
# each repetition's paired ratio (median, range, how many pairs plotforge-run
# led) and the memcpy bandwidth plotforge-run bench measures in the same run.
# Both keep the KV cache in KV (default f16, llama.cpp's default cache type;
# plotforge-run --kv-type, llama.cpp -ctk/-ctv), so attention reads the same
# bytes in both.
# usage: LLAMA=DIR PY=PYTHON bench/runtime_vs_llamacpp.sh BUNDLE...
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-build/bin/plotforge-run}
REPEATS=${REPEATS:-3}
DECODE=${DECODE:-64}
KV=${KV:-f16}
: "${LLAMA:?set LLAMA to a built llama.cpp tree}" "${PY:?set PY to a python with torch, transformers, sentencepiece}"
LLAMA_BUILD=${LLAMA_BUILD:-$LLAMA/build}
[ $# -ge 1 ] || { echo "usage: LLAMA=DIR PY=PYTHON $0 BUNDLE..." >&2; exit 2; }
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%F)"
echo "== plotforge $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)'); llama.cpp $(git -C "$LLAMA" rev-parse --short HEAD 2>/dev/null || echo '?') built in $LLAMA_BUILD"
echo "== $($RUN system | grep -E '^(cpu|blas):' | tr '\n' ' ')"
echo "== KV cache: $KV in both"
out=$(mktemp -d)
echo "== raw outputs: $out"
for bundle in "$@"; do
  name=$(basename "$bundle")
  ctx=$(python3 -c "import json; print(json.load(open('$bundle/config.json'))['max_position_embeddings'])")
  for t in f32 f16 bf16 q8_0; do
    gguf=$out/$name-$t.gguf
    $PY bench/llamacpp_convert.py "$LLAMA/convert_hf_to_gguf.py" "$bundle" --outtype $t --outfile "$gguf" > /dev/null 2>&1 ||
      { echo "llama.cpp's converter failed on $bundle ($t)" >&2; exit 1; }
    prompts=64; [ "$ctx" -gt 512 ] && prompts="64 512"
    for rep in $(seq "$REPEATS"); do
      for p in $prompts; do
        $RUN bench --bundle "$bundle" --weights $t --kv-type "$KV" --batch-sizes 1,8,32 --decode-tokens $DECODE --prompt-tokens $p \
          --sessions 1 --branches 1 --prefix-tokens 16 --branch-tokens 4 --repeats 1 > "$out/pf-$name-$t-$p-$rep.txt"
      done
      # A crash of llama.cpp (its AMX path did, on one machine) is reported
      # and its row left out, not the whole run.
      "$LLAMA_BUILD/bin/llama-bench" -m "$gguf" -t 2 -ctk "$KV" -ctv "$KV" -p "${prompts// /,}" -n $DECODE -r 1 -o json \
        > "$out/ll-$name-$t-$rep.json" 2> /dev/null ||
        { echo "llama-bench failed (exit $?) on $gguf" >&2; rm -f "$out/ll-$name-$t-$rep.json"; }
      "$LLAMA_BUILD/bin/llama-batched-bench" -m "$gguf" -t 2 -ctk "$KV" -ctv "$KV" -npp 16 -ntg $DECODE -npl 8,32 -c $(( 40 * (16 + DECODE) )) \
        > "$out/llb-$name-$t-$rep.txt" 2> /dev/null ||
        { echo "llama-batched-bench failed (exit $?) on $gguf" >&2; rm -f "$out/llb-$name-$t-$rep.txt"; }
    done
  done
done
python3 - "$out" "$@" <<'PY'
import glob, json, os, re, statistics, sys
out, bundles = sys.argv[1], sys.argv[2:]
med = lambda xs: statistics.median(xs) if xs else float("nan")
bw = []
# rows[measure] = ({rep: plotforge tokens/s}, {rep: llama.cpp tokens/s}).
# Besides the ratio of the medians, each repetition's two runs (minutes
# apart at most) give a paired ratio: this machine's memory speed drifts
# between phases, and a pair shares its phase more often than two medians.
print("\n| model | weights | measure | plotforge-run tokens/s | llama.cpp tokens/s | ratio of medians "
      "| paired ratios: median (min-max) | plotforge ahead |\n|---|---|---|---|---|---|---|---|")
for b in bundles:
    name = os.path.basename(b)
    for t in ["f32", "f16", "bf16", "q8_0"]:
        rows = {}
        row = lambda k: rows.setdefault(k, ({}, {}))
        for f in glob.glob(f"{out}/pf-{name}-{t}-*.txt"):
            text = open(f).read()
            p, rep = int(f.split("-")[-2]), int(f.split("-")[-1].split(".")[0])
            bw += [float(x) for x in re.findall(r"read\+write\): ([0-9.]+) GB/s", text)]
            m = re.search(r"prefill, one (\d+)-token prompt: (\d+) tokens/s", text)
            row(f"prefill {m.group(1)}")[0][rep] = float(m.group(2))
            if p == 64:
                for bsz, tps in re.findall(r"^\| (\d+) \| (\d+) \|", text, re.M):
                    row(f"decode batch {bsz}")[0][rep] = float(tps)
        for f in glob.glob(f"{out}/ll-{name}-{t}-*.json"):
            rep = int(f.split("-")[-1].split(".")[0])
            for r in json.load(open(f)):
                key = f"prefill {r['n_prompt']}" if r["n_gen"] == 0 else "decode batch 1"
                row(key)[1][rep] = r["avg_ts"]
        for f in glob.glob(f"{out}/llb-{name}-{t}-*.txt"):
            rep = int(f.split("-")[-1].split(".")[0])
            for line in open(f):
                c = [x.strip() for x in line.split("|")[1:-1]]
                if len(c) >= 8 and c[2].isdigit():
                    row(f"decode batch {c[2]}")[1][rep] = float(c[7])
        order = ["decode batch 1", "decode batch 8", "decode batch 32", "prefill 64", "prefill 512"]
        for k in [k for k in order if k in rows]:
            pf, ll = rows[k]
            a, l = med(list(pf.values())), med(list(ll.values()))
            if l != l:  # llama.cpp failed on every run of this row
                print(f"| {name} | {t} | {k} | {a:.0f} | failed | - | - | - |")
                continue
            pairs = [pf[r] / ll[r] for r in sorted(pf) if r in ll]
            print(f"| {name} | {t} | {k} | {a:.0f} | {l:.0f} | {a / l:.2f} | {med(pairs):.2f} "
                  f"({min(pairs):.2f}-{max(pairs):.2f}) | {sum(x >= 1 for x in pairs)} of {len(pairs)} |")
print(f"\nmemcpy bandwidth (read+write) in this run: median {med(bw):.2f} GB/s over {len(bw)} measurements; "
      f"medians of {len(glob.glob(out + '/ll-*.json')) // max(1, len(bundles) * 4)} alternating runs")
PY
