"""Makes a small LlamaForCausalLM the way people publish one: a SentencePiece
tokenizer.model with Llama's settings (BPE, byte fallback, dummy prefix,
identity normalization), random weights from transformers, saved with
save_pretrained (safetensors, sharded when asked).

usage: make_hf_llama.py TEXT_DIR OUT_DIR [--shard-kb N] [--tie] [--seed S]
        [--set key=json ...]
TEXT_DIR: files whose lines train the tokenizer (spm_train, Debian's
sentencepiece). --set overrides config.json fields after saving (the bad-
input tests write unsupported ones).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("text_dir")
ap.add_argument("out")
ap.add_argument("--shard-kb", type=int, default=0)
ap.add_argument("--tie", action="store_true")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--vocab", type=int, default=400)
a = ap.parse_args()

out = pathlib.Path(a.out)
out.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    lines = pathlib.Path(tmp) / "lines.txt"
    with open(lines, "w") as f:
        for p in sorted(pathlib.Path(a.text_dir).iterdir()):
            if p.suffix in (".fountain", ".txt"):
                f.writelines(l for l in p.read_text().splitlines(True) if l.strip())
    spm = subprocess.run(
        ["spm_train", f"--input={lines}", f"--model_prefix={tmp}/tok", "--model_type=bpe",
         f"--vocab_size={a.vocab}", "--byte_fallback=true", "--add_dummy_prefix=true",
         "--normalization_rule_name=identity", "--remove_extra_whitespaces=false", "--split_digits=true",
         "--character_coverage=1.0", "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1",
         "--minloglevel=2", "--input_sentence_size=200000", "--shuffle_input_sentence=true"],
        check=False, capture_output=True, text=True)
    if spm.returncode != 0:
        sys.exit(f"make_hf_llama.py: spm_train failed on {a.text_dir}:\n{spm.stderr}")
    (out / "tokenizer.model").write_bytes((pathlib.Path(tmp) / "tok.model").read_bytes())

torch.manual_seed(a.seed)
config = LlamaConfig(vocab_size=a.vocab, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                     rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=a.tie)
model = LlamaForCausalLM(config)
with torch.no_grad():  # make every weight matter: init_weights leaves norms at 1
    for n, p in model.named_parameters():
        if "norm" in n:
            p.uniform_(0.5, 1.5)
kw = {"max_shard_size": f"{a.shard_kb}KB"} if a.shard_kb else {}
model.save_pretrained(out, safe_serialization=True, **kw)
print(json.dumps({"vocab": a.vocab, "files": sorted(os.listdir(out))}))
