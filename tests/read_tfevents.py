"""Reads a run's TensorBoard event file with TensorBoard's own loader and
checks its train/loss scalars against metrics.jsonl.

usage: read_tfevents.py RUN_DIR
"""
import glob
import json
import sys

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

run = sys.argv[1]
files = sorted(glob.glob(f"{run}/events.out.tfevents.*"))
assert files, f"no event file in {run}"
scalars = {}
versions = []
for path in files:
    for event in EventFileLoader(path).Load():
        if event.file_version:
            versions.append(event.file_version)
        for v in event.summary.value:
            # The loader migrates simple_value into a tensor in new versions.
            value = v.simple_value if v.HasField("simple_value") else float(v.tensor.float_val[0])
            scalars.setdefault(v.tag, {})[event.step] = value
assert versions and versions[0] == "brain.Event:2", versions
metrics = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
losses = {m["step"]: m["loss"] for m in metrics if "loss" in m}
vals = {m["step"]: m["val_loss"] for m in metrics if "val_loss" in m}
assert set(losses) == set(scalars["train/loss"]), (sorted(losses), sorted(scalars["train/loss"]))
for step, loss in losses.items():
    assert abs(scalars["train/loss"][step] - loss) <= 1e-6 * max(1.0, abs(loss)), (step, loss)
for step, loss in vals.items():
    assert abs(scalars["val/loss"][step] - loss) <= 1e-6 * max(1.0, abs(loss)), (step, loss)
for tag in ("train/lr", "train/grad_norm", "train/tokens_per_s", "val/ppl"):
    assert tag in scalars, tag
print("ok", len(losses), "steps")
