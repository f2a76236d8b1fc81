"""Runs llama.cpp's convert_hf_to_gguf.py on a plotforge bundle under Debian's
torch 1.13 (bench/runtime_vs_llamacpp.sh; benchmark only).

torch 1.13 lacks the float8 dtypes the converter names in its dtype tables;
plotforge bundles hold none, so they are aliased to uint8 before the
converter loads. Nothing else is changed.
usage: PYTHON bench/llamacpp_convert.py LLAMA/convert_hf_to_gguf.py BUNDLE [converter options]
"""
import os
import runpy
import sys

import torch

for name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(torch, name):
        setattr(torch, name, torch.uint8)
script = os.path.abspath(sys.argv[1])
sys.path[:0] = [os.path.dirname(script), os.path.join(os.path.dirname(script), "gguf-py")]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
