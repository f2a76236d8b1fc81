"""transformers' tokenizer built from a directory plotforge wrote gives plotforge's ids.

Usage: hf_tokenizer_check.py DIR CASES.json
DIR holds tokenizer.json and tokenizer_config.json (a bundle, or the files
datasets/hf_tokenizer.h writes); CASES.json is {"texts": [{"text", "ids"}],
"special_ids": [...], "newline_id": N} with plotforge's ids. Checks, with
AutoTokenizer.from_pretrained(DIR) as a user calls it: encode(text) == ids
(no BOS added), decode(ids) == text, the special tokens are exactly
plotforge's, and "\\n" is the one token newline_id. Exit 1 listing problems.
"""
import json
import sys

from transformers import AutoTokenizer

directory, cases_path = sys.argv[1], sys.argv[2]
cases = json.load(open(cases_path, encoding="utf-8"))
tok = AutoTokenizer.from_pretrained(directory)
problems = []
if not tok.is_fast:
    problems.append(f"AutoTokenizer gave the slow {type(tok).__name__}, not the fast tokenizer from tokenizer.json")
tokens = 0
for i, case in enumerate(cases["texts"]):
    text, want = case["text"], case["ids"]
    got = tok.encode(text)
    tokens += len(want)
    if got != want:
        k = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        problems.append(
            f"text {i}: ids differ at token {k} of {len(want)}: transformers {got[k:k + 6]} "
            f"{tok.convert_ids_to_tokens(got[k:k + 6])}, plotforge {want[k:k + 6]} "
            f"{tok.convert_ids_to_tokens(want[k:k + 6])}; text there: {text[max(0, len(tok.decode(want[:k])) - 20):][:60]!r}")
    back = tok.decode(want)
    if back != text:
        k = next((k for k, (a, b) in enumerate(zip(back, text)) if a != b), min(len(back), len(text)))
        problems.append(f"text {i}: decode differs at character {k}: {back[k:k + 30]!r} vs {text[k:k + 30]!r}")
special = sorted({i for i, t in tok.added_tokens_decoder.items() if t.special})
if special != sorted(cases["special_ids"]):
    problems.append(f"special tokens: transformers {special[:20]}..., plotforge {sorted(cases['special_ids'])[:20]}...")
if tok.encode("\n") != [cases["newline_id"]]:
    problems.append(f'"\\n" is {tok.encode(chr(10))}, plotforge\'s newline is {cases["newline_id"]}')
if problems:
    print(f"{len(problems)} problems:")
    print("\n".join(problems[:10]))
    sys.exit(1)
print(f"{len(cases['texts'])} texts, {tokens} tokens: transformers' ids equal plotforge's; "
      f"{len(special)} special tokens agree")
