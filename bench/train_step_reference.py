"""PyTorch eager baseline: training-step speed of the reference model.

usage: bench/train_step_reference.py CONFIG.ini VOCAB_SIZE [STEPS] [THREADS]
Trains model.py's Transformer with the config's model, batch size and AdamW
settings on random tokens (speed does not depend on the data) and prints
ms/iter and tokens/s over STEPS steps after 5 warm-up steps. Same model,
same optimizer and clipping as plotforge's trainer: the side-by-side
baseline for bench/training_cpu.sh.
"""
import configparser
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../scripts/reference")
from model import Config, Transformer, make_optimizer  # noqa: E402

path, vocab = sys.argv[1], int(sys.argv[2])
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 100
if len(sys.argv) > 4:
    torch.set_num_threads(int(sys.argv[4]))
ini = configparser.ConfigParser()
ini.read_string("[train]\n" + open(path).read())
t, m = ini["train"], ini["model"]
cfg = Config(vocab_size=vocab, dim=m.getint("dim"), n_layers=m.getint("n_layers"), n_heads=m.getint("n_heads"),
             n_kv_heads=m.getint("n_kv_heads", 0), context=m.getint("context"),
             tie_embeddings=m.getboolean("tie_embeddings", False))
batch = t.getint("batch-size")
torch.manual_seed(0)
model = Transformer(cfg)
opt = make_optimizer(model, t.getfloat("lr"), (t.getfloat("beta1", 0.9), t.getfloat("beta2", 0.99)), 1e-8,
                     t.getfloat("weight-decay", 0.1))
x = torch.randint(0, vocab, (batch, cfg.context))
y = torch.randint(0, vocab, (batch, cfg.context))


def step():
    loss = F.cross_entropy(model(x).view(-1, vocab), y.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), t.getfloat("grad-clip", 1.0))
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


for _ in range(5):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = (time.perf_counter() - t0) / steps
print(f"reference eager (torch {torch.__version__}, {torch.get_num_threads()} threads): "
      f"{1000 * dt:.1f} ms/iter, {batch * cfg.context / dt:.0f} tokens/s")
