"""Draws a run's loss curves to a PNG.

usage: plot_metrics.py RUN_DIR [RUN_DIR...] --out loss.png
Reads RUN_DIR/metrics.jsonl (written by plotforge train): training loss per
step (light) with a moving average, and validation loss per evaluation
(markers), one colour per run.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", required=True, help="PNG file to write")
    ap.add_argument("--smooth", type=int, default=20, help="moving-average window for the training loss")
    a = ap.parse_args()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for i, run in enumerate(a.runs):
        try:
            rows = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"plot_metrics: {run}/metrics.jsonl: {e}; is it a plotforge run directory?")
        train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
        val = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
        if not train:
            sys.exit(f"plot_metrics: {run}/metrics.jsonl has no training steps")
        color = f"C{i}"
        steps, losses = zip(*train)
        ax.plot(steps, losses, color=color, alpha=0.25, linewidth=0.8)
        w = max(1, min(a.smooth, len(losses)))
        smooth = [sum(losses[max(0, j - w + 1): j + 1]) / len(losses[max(0, j - w + 1): j + 1]) for j in range(len(losses))]
        ax.plot(steps, smooth, color=color, label=f"{run} train")
        if val:
            vs, vl = zip(*val)
            ax.plot(vs, vl, "o-", color=color, markersize=4, label=f"{run} val")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
