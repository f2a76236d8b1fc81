"""Loads a model with Hugging Face transformers and compares its logits with
plotforge's (the libtorch model's, computed by the C++ test).

usage: hf_parity.py MODEL_DIR TOKENS.json EXPECTED.f32
                    [--adapter PEFT_DIR] [--gguf FILE] [--tolerance T]
MODEL_DIR: an exported bundle or any Llama directory; --adapter applies a
PEFT adapter on top (PyPI peft); --gguf loads MODEL_DIR/FILE, a GGUF file,
instead of the safetensors. TOKENS.json: a list of token ids; EXPECTED.f32:
little-endian float32 logits [len(tokens), V]. When V exceeds the model's
vocabulary (plotforge import adds control tokens after it) the first columns
are compared. Prints the max abs difference; exits 1 above the tolerance
(default 1e-4).
"""
import argparse
import json
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("tokens")
ap.add_argument("expected")
ap.add_argument("--adapter")
ap.add_argument("--gguf")
ap.add_argument("--tolerance", type=float, default=1e-4)
a = ap.parse_args()

tokens = json.load(open(a.tokens))
kwargs = {"torch_dtype": torch.float32}
if a.gguf:
    kwargs["gguf_file"] = a.gguf
model = AutoModelForCausalLM.from_pretrained(a.model, **kwargs)
if a.adapter:
    from peft import PeftModel

    model = PeftModel.from_pretrained(model, a.adapter)
model.eval()
with torch.no_grad():
    logits = model(torch.tensor([tokens])).logits[0].float().numpy()
expected = np.fromfile(a.expected, dtype="<f4").reshape(len(tokens), -1)
if expected.shape[1] < logits.shape[1]:
    sys.exit(f"expected logits have {expected.shape[1]} columns, the model {logits.shape[1]}")
diff = float(np.abs(logits - expected[:, : logits.shape[1]]).max())
print(
    f"transformers {__import__('transformers').__version__}: {len(tokens)} tokens, "
    f"vocabulary {logits.shape[1]}, max abs logit diff {diff:.3g} (tolerance {a.tolerance:g})"
)
sys.exit(0 if diff <= a.tolerance else 1)
