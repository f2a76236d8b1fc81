"""Reads an exported bundle with PyPI's safetensors and numpy and checks
every tensor against raw float32 dumps of the checkpoint.

usage: read_bundle.py BUNDLE EXPECTED_DIR fp32|bf16
EXPECTED_DIR holds NAME.f32 (little-endian float32, C order) and shapes.json.
"""
import json
import sys

import ml_dtypes  # noqa: F401  (registers numpy's bfloat16 for safetensors)
import numpy as np
from safetensors.numpy import load_file

bundle, expected, dtype = sys.argv[1:4]
tensors = load_file(f"{bundle}/model.safetensors")
shapes = json.load(open(f"{expected}/shapes.json"))
config = json.load(open(f"{bundle}/config.json"))
assert config["architectures"] == ["LlamaForCausalLM"], config
for key in ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "num_hidden_layers",
            "rms_norm_eps", "rope_theta", "vocab_size", "max_position_embeddings", "tie_word_embeddings", "torch_dtype"):
    assert key in config, key
assert config["torch_dtype"] == ("bfloat16" if dtype == "bf16" else "float32")
assert "<scene>" in config["plotforge"]["control_tokens"]
assert set(tensors) == set(shapes), sorted(set(tensors) ^ set(shapes))
for name, shape in shapes.items():
    want = np.fromfile(f"{expected}/{name}.f32", dtype="<f4").reshape(shape)
    got = tensors[name]
    assert list(got.shape) == shape, (name, got.shape, shape)
    if dtype == "fp32":
        assert got.dtype == np.float32 and np.array_equal(got, want), name
    else:
        assert got.dtype == ml_dtypes.bfloat16, (name, got.dtype)
        bits = want.view(np.uint32).astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        assert np.array_equal(got.view(np.uint16), rounded), name
print("ok", len(shapes), "tensors")
