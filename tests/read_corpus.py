"""Reads a prepared corpus with h5py, as docs/corpus-format.md tells users to.

usage: read_corpus.py CORPUS.h5 N_TOKENS TOKEN_SUM N_SCENES
Exits non-zero with a message if anything disagrees with the documented layout.
"""
import sys

import h5py
import numpy as np

path, n_tokens, token_sum, n_scenes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with h5py.File(path, "r") as f:
    assert f.attrs["format"] == "plotforge-corpus", f.attrs["format"]
    assert f.attrs["schema_version"] == 2
    tokens = f["tokens"][:]
    assert tokens.dtype == np.dtype(f.attrs["token_dtype"]), (tokens.dtype, f.attrs["token_dtype"])
    assert len(tokens) == n_tokens == f.attrs["n_tokens"], (len(tokens), n_tokens)
    assert int(tokens.astype(np.uint64).sum()) == token_sum
    offsets = f["documents/token_offsets"][:]
    assert offsets[0] == 0 and offsets[-1] == len(tokens)
    split = f["documents/split"][:]
    titles = [t.decode() for t in f["documents/title"][:]]
    assert len(titles) == len(split) == len(offsets) - 1
    eos = f.attrs["eos_id"]
    assert all(tokens[e - 1] == eos for e in offsets[1:])
    train = sum(int(offsets[i + 1] - offsets[i]) for i in range(len(split)) if split[i] == 0)
    assert train == f.attrs["n_train_tokens"]
    begin, end = f["scenes/token_begin"][:], f["scenes/token_end"][:]
    assert len(begin) == n_scenes == len(f["scenes/beat"]) == len(f["scenes/valence"])
    assert len(f["scenes/emotion_derived"]) == n_scenes
    valence = {v.decode() for v in f["scenes/valence"][:]}
    assert valence <= {"none", "negative", "neutral", "positive"}, valence
    names = [n.decode() for n in f["control_tokens/name"][:]]
    ids = f["control_tokens/id"][:]
    scene_id = ids[names.index("<scene>")]
    assert all(tokens[b] == scene_id for b in begin)
    assert f["tokens"].compression == "gzip" and f["tokens"].chunks is not None
print("ok", len(titles), "documents")
