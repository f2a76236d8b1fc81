#!/usr/bin/env bash
# The same ids for the same text in plotforge, transformers and llama.cpp
# (issue 21; results in docs/tokenizer.md). A check with a real llama.cpp,
# which CI does not have (tests/hf_tokenizer_test.cc covers transformers):
#   LLAMA   a llama.cpp source tree with build/bin/llama-tokenize (e.g. the one
#           PyPI's llama-cpp-python sdist vendors, vendor/llama.cpp)
#   PY      a python with torch, transformers and sentencepiece, for
#           llama.cpp's convert_hf_to_gguf.py (bench/llamacpp_convert.py)
# For each bundle: llama.cpp's converter writes a vocabulary-only GGUF from the
# bundle (tokenizer.model, tokenizer.json, tokenizer_config.json), and
# `plotforge export --format gguf`'s file is used too when GGUF=FILE is set;
# every file (data/sample by default) is tokenized by plotforge-run tokenize,
# by llama-tokenize on each GGUF (its defaults: BOS if the GGUF asks for one,
# special tokens parsed) and by transformers' AutoTokenizer(bundle); prints
# tokens compared and the first difference per file.
# usage: LLAMA=DIR PY=PYTHON [GGUF=FILE] bench/tokens_vs_llamacpp.sh BUNDLE [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-build/bin/plotforge-run}
: "${LLAMA:?set LLAMA to a built llama.cpp tree}" "${PY:?set PY to a python with torch, transformers, sentencepiece}"
[ $# -ge 1 ] || { echo "usage: LLAMA=DIR PY=PYTHON $0 BUNDLE [FILE...]" >&2; exit 2; }
bundle=$1
shift
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(data/sample/*.fountain)
TOK=$(ls "$LLAMA"/build/bin/llama-tokenize "$LLAMA"/b/bin/llama-tokenize 2>/dev/null | head -1)
[ -x "$TOK" ] || { echo "no llama-tokenize under $LLAMA/build/bin: cmake --build build --target llama-tokenize" >&2; exit 1; }
out=$(mktemp -d)
echo "== plotforge $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)'); $(date -u +%F)"
$PY bench/llamacpp_convert.py "$LLAMA/convert_hf_to_gguf.py" "$bundle" --vocab-only --outfile "$out/converted.gguf" \
  > "$out/convert.log" 2>&1 || { cat "$out/convert.log" >&2; echo "llama.cpp's converter failed on $bundle" >&2; exit 1; }
ggufs=("$out/converted.gguf")
[ -n "${GGUF:-}" ] && ggufs+=("$GGUF")
for f in "${files[@]}"; do
  $RUN tokenize --bundle "$bundle" --file "$f" > "$out/plotforge.json"
  for g in "${ggufs[@]}"; do
    "$TOK" -m "$g" -f "$f" --ids --no-escape --log-disable 2> /dev/null | tail -1 > "$out/llama-$(basename "$g").json"
  done
  $PY - "$bundle" "$f" "$out" "${ggufs[@]}" <<'PYEOF'
import json, os, sys
from transformers import AutoTokenizer
bundle, path, out, ggufs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
text = open(path, encoding="utf-8", newline="").read()  # keep \r\n as it is
want = json.load(open(f"{out}/plotforge.json"))
others = {"transformers": AutoTokenizer.from_pretrained(bundle).encode(text)}
for g in ggufs:
    others["llama.cpp " + ("converter" if g.endswith("converted.gguf") else "plotforge export")] = \
        json.load(open(f"{out}/llama-{os.path.basename(g)}.json"))
nl = json.load(open(f"{bundle}/config.json"))["plotforge"]["newline_token_id"]


def lines(ids):
    out, cur = [], []
    for t in ids:
        cur.append(t)
        if t == nl:
            out.append(cur)
            cur = []
    return out + [cur]


for name, got in others.items():
    if got == want:
        print(f"{os.path.basename(path)}: {len(want)} tokens; {name}: identical")
        continue
    first = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    a, b = lines(got), lines(want)
    per_line = (f"{sum(x != y for x, y in zip(a, b))} of {len(b)} lines differ" if len(a) == len(b)
                else f"{len(a)} lines vs {len(b)}")
    print(f"{os.path.basename(path)}: {len(want)} tokens; {name}: {len(got)} tokens, {per_line}; first difference "
          f"at {first}: {got[first:first + 4]} vs plotforge {want[first:first + 4]}")
PYEOF
done
