#!/usr/bin/env python3
"""Draws the quality-diversity plane of a 'plotforge eval' report.

    python3 scripts/plot_eval.py DIR        (reads DIR/report.json, writes DIR/quality_diversity.png)

x: Self-BLEU-4 (lower = more diverse), y: BLEU-4 against held-out scenes
(higher = closer to real text). Each generator is a curve over its sampling
temperatures, labelled with them; real held-out scenes are the star.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    path = os.path.join(d, "report.json")
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"{path}: cannot read the report ({e}); run 'plotforge eval --out {d}' first")
    fig, ax = plt.subplots(figsize=(7, 5))
    by_gen = {}
    for p in report.get("points", []):
        by_gen.setdefault(p["generator"], []).append(p)
    for gen, pts in sorted(by_gen.items()):
        pts.sort(key=lambda p: p["temperature"])
        xs = [p["self_bleu4"] for p in pts]
        ys = [p["bleu4"] for p in pts]
        ax.plot(xs, ys, marker="o", label=gen)
        for p in pts:
            ax.annotate(f"{p['temperature']:g}", (p["self_bleu4"], p["bleu4"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
    real = report.get("real")
    if real:
        ax.scatter([real["self_bleu4"]], [real["bleu4"]], marker="*", s=200, color="black", label="real scenes", zorder=3)
    ax.set_xlabel("Self-BLEU-4 (lower: more diverse)")
    ax.set_ylabel("BLEU-4 vs held-out scenes (higher: closer to real)")
    ax.set_title("quality-diversity: " + os.path.basename(report.get("corpus", "")))
    ax.grid(alpha=0.3)
    ax.legend()
    out = os.path.join(d, "quality_diversity.png")
    tmp = out + ".tmp.png"
    fig.tight_layout()
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
