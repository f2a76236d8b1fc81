"""Checks the C++ model against model.py, from files the C++ test wrote.

usage: parity.py DIR
DIR holds config.json, params.pt (the C++ parameters), batch.pt (x, y),
cpp.pt (logits, loss, and the parameters after one optimizer step) and
optim.json (the optimizer settings). Exits non-zero on any mismatch.
"""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from model import Config, Transformer, make_optimizer  # noqa: E402

d = sys.argv[1]
cfg = Config(**json.load(open(f"{d}/config.json")))
params = torch.load(f"{d}/params.pt")
batch = torch.load(f"{d}/batch.pt")
cpp = torch.load(f"{d}/cpp.pt")
opt = json.load(open(f"{d}/optim.json"))

torch.set_default_dtype(torch.float32)
model = Transformer(cfg)
names = {n for n, _ in model.named_parameters()}
assert names == set(params), f"parameter names differ: {sorted(names ^ set(params))}"
with torch.no_grad():
    for n, p in model.named_parameters():
        assert tuple(p.shape) == tuple(params[n].shape), (n, p.shape, params[n].shape)
        p.copy_(params[n])

x, y = batch["x"], batch["y"]
logits = model(x)
diff = (logits - cpp["logits"]).abs().max().item()
print(f"logits max abs diff {diff:.3g}")
assert diff <= 1e-4, diff
loss = F.cross_entropy(logits.view(-1, cfg.vocab_size), y.view(-1))
print(f"loss {loss.item():.8f} vs {cpp['loss'].item():.8f}")
assert abs(loss.item() - cpp["loss"].item()) <= 1e-5

optimizer = make_optimizer(model, opt["lr"], (opt["beta1"], opt["beta2"]), opt["eps"], opt["weight_decay"])
loss.backward()
norm = torch.nn.utils.clip_grad_norm_(model.parameters(), opt["grad_clip"])
print(f"grad norm {norm.item():.8f} vs {cpp['grad_norm'].item():.8f}")
assert abs(norm.item() - cpp["grad_norm"].item()) <= 1e-4 * max(1.0, norm.item())
optimizer.step()
worst = 0.0
for n, p in model.named_parameters():
    worst = max(worst, (p.detach() - cpp["after." + n]).abs().max().item())
print(f"parameters after one AdamW step: max abs diff {worst:.3g}")
assert worst <= 1e-6, worst
print("ok")
