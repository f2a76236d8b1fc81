"""Reads a GGUF file written by `plotforge export --format gguf` back with
PyPI's gguf (llama.cpp's own Python reader) and checks it against the
bundle exported from the same run: the metadata llama.cpp requires for the
llama architecture, the vocabulary (pieces, scores, types) against the
bundle's tokenizer.model, and every tensor's name, type, shape and values.

usage: gguf_check.py FILE.gguf BUNDLE DTYPE   (DTYPE f32 | f16 | bf16 | q8_0)
Exits 1 naming the first difference.
"""
import json
import pathlib
import sys

import numpy as np
import sentencepiece as spm
from gguf import GGUFReader, GGMLQuantizationType as Q
from gguf.quants import dequantize
from safetensors.numpy import load_file

path, bundle, dtype = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
r = GGUFReader(path)
config = json.loads((bundle / "config.json").read_text())
weights = load_file(str(bundle / "model.safetensors"))
problems = []


def field(key):
    f = r.fields.get(key)
    if f is None:
        problems.append(f"metadata {key} is missing")
        return None
    if len(f.data) == 1 and f.types[0].name != "ARRAY":
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0].name == "STRING" else v.tolist()[0]
    return [bytes(f.parts[i]).decode() if f.types[-1].name == "STRING" else f.parts[i].tolist()[0] for i in f.data]


expect = {
    "general.architecture": "llama",
    "llama.context_length": config["max_position_embeddings"],
    "llama.embedding_length": config["hidden_size"],
    "llama.block_count": config["num_hidden_layers"],
    "llama.feed_forward_length": config["intermediate_size"],
    "llama.attention.head_count": config["num_attention_heads"],
    "llama.attention.head_count_kv": config["num_key_value_heads"],
    "llama.rope.dimension_count": config["hidden_size"] // config["num_attention_heads"],
    "llama.vocab_size": config["vocab_size"],
    "general.file_type": {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}[dtype],
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.add_bos_token": False,
}
for k, v in expect.items():
    got = field(k)
    if got is not None and got != v:
        problems.append(f"{k} is {got!r}, expected {v!r}")
for k, v in {"llama.rope.freq_base": config["rope_theta"], "llama.attention.layer_norm_rms_epsilon": config["rms_norm_eps"]}.items():
    got = field(k)
    if got is not None and abs(got - v) > 1e-6 * max(1.0, abs(v)):
        problems.append(f"{k} is {got}, expected {v}")

sp = spm.SentencePieceProcessor(model_file=str(bundle / "tokenizer.model"))
tokens, scores, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.scores"), field("tokenizer.ggml.token_type")
want_tokens = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
if tokens != want_tokens:
    problems.append("tokenizer.ggml.tokens differ from tokenizer.model's pieces")
if scores is not None and any(abs(a - sp.get_score(i)) > 1e-6 for i, a in enumerate(scores)):
    problems.append("tokenizer.ggml.scores differ from tokenizer.model's")
# The special tokens are the bundle's tokenizer.json's, as llama.cpp's converter
# reads them: special added tokens (<unk> among them) become CONTROL (3); byte
# pieces are BYTE (6).
hf_special = {t["id"] for t in json.loads((bundle / "tokenizer.json").read_text())["added_tokens"] if t["special"]}
for i in range(sp.get_piece_size()):
    want = 3 if i in hf_special else 6 if sp.is_byte(i) else None
    if want is not None and types[i] != want:
        problems.append(f"token {i} {want_tokens[i]!r} has type {types[i]}, expected {want}")
        break
    if want is None and types[i] in (2, 3, 6):
        problems.append(f"token {i} {want_tokens[i]!r} has type {types[i]} but is not special in tokenizer.json")
        break
if "<scene>" not in want_tokens or want_tokens.index("<scene>") not in hf_special:
    problems.append("<scene> is not a special token of tokenizer.json")
# The newline: the byte piece <0x0A>, or the control piece <nl> of a tokenizer
# from before 2026-12-02 or an imported model (docs/tokenizer.md).
newline = config["plotforge"]["newline_piece"]
if types[want_tokens.index(newline)] != (6 if newline == "<0x0A>" else 3):
    problems.append(f"the newline {newline} has token type {types[want_tokens.index(newline)]}")
for k in ("bos", "eos", "unknown"):
    field(f"tokenizer.ggml.{k}_token_id")

names = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
layer = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
         "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
         "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def hf_name(n):
    stem = n[: -len(".weight")]
    if stem.startswith("blk."):
        _, i, part = stem.split(".", 2)
        return f"model.layers.{i}.{layer[part]}.weight"
    return names[stem] + ".weight"


def unpermute(w, heads):  # llama.cpp's interleaved rotary rows -> Hugging Face's halves
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


want_type = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0}[dtype]
tol = {"f32": 0.0, "f16": 1e-3, "bf16": 8e-3, "q8_0": 1.0 / 127}[dtype]
seen = set()
for t in r.tensors:
    hf = hf_name(t.name)
    seen.add(hf)
    ref = weights.get(hf, weights.get("model.embed_tokens.weight") if hf == "lm_head.weight" else None)
    if ref is None:
        problems.append(f"tensor {t.name} has no counterpart {hf}")
        continue
    shape = tuple(int(x) for x in reversed(t.shape.tolist()))
    if shape != ref.shape:
        problems.append(f"tensor {t.name} has shape {shape}, expected {ref.shape}")
        continue
    expect_type = Q.F32 if ref.ndim == 1 else want_type
    if expect_type == Q.Q8_0 and ref.shape[-1] % 32:
        expect_type = Q.F16
    if t.tensor_type != expect_type:
        problems.append(f"tensor {t.name} has type {t.tensor_type.name}, expected {expect_type.name}")
    w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
    if ".attn_q." in t.name:
        w = unpermute(w, config["num_attention_heads"])
    if ".attn_k." in t.name:
        w = unpermute(w, config["num_key_value_heads"])
    scale = np.abs(ref).max(axis=-1, keepdims=True) if dtype == "q8_0" else np.abs(ref)
    if np.any(np.abs(w - ref) > tol * scale + 1e-7):
        problems.append(f"tensor {t.name}: values differ by up to {np.abs(w - ref).max():.3g}")
missing = set(weights) - seen
if missing:
    problems.append(f"tensors missing from the GGUF file: {sorted(missing)[:5]}")
if "lm_head.weight" not in seen:
    problems.append("output.weight is missing")

print(f"{path}: {len(r.tensors)} tensors, {len(r.fields)} metadata keys, vocabulary {len(tokens or [])}, {dtype}")
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
