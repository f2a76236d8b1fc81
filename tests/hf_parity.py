"""Loads an exported bundle with Hugging Face transformers and compares its
logits with plotforge's (the libtorch model's, computed by the C++ test).

usage: hf_parity.py BUNDLE TOKENS.json EXPECTED.f32
TOKENS.json: a list of token ids; EXPECTED.f32: little-endian float32
logits [len(tokens), vocab]. Prints the max abs difference; exits 1 above
1e-4.
"""
import json
import sys

import numpy as np
import torch
from transformers import LlamaForCausalLM

bundle, tokens_path, expected_path = sys.argv[1:4]
tokens = json.load(open(tokens_path))
model = LlamaForCausalLM.from_pretrained(bundle, torch_dtype=torch.float32)
model.eval()
with torch.no_grad():
    logits = model(torch.tensor([tokens])).logits[0].numpy()
expected = np.fromfile(expected_path, dtype="<f4").reshape(logits.shape)
diff = float(np.abs(logits - expected).max())
print(f"transformers {__import__('transformers').__version__}: {len(tokens)} tokens, max abs logit diff {diff:.3g}")
sys.exit(0 if diff <= 1e-4 else 1)
