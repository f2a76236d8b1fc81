#!/usr/bin/env python3
"""PNG plots of `plotforge arcs --out DIR` (DIR/arcs.json), into DIR:
  arc-<name>.png      each script's window arc and DCT arc over narrative
                      time, act boundaries as solid lines, scenes dotted
  heatmap-<name>.png  valence of the script's most talkative characters in
                      each scene (blank where they do not speak)
  modes.png           the corpus' leading modes, with the variance each explains
usage: scripts/plot_arcs.py DIR [--scripts NAME,...]   (file stems; default all)"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def plot_arc(s, out):
    t = (np.arange(100) + 0.5) / 100
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(t, s["arc"], label="window arc (mean VADER compound)", color="#7a2e1f")
    ax2 = ax.twinx()
    ax2.plot(t, s["arc_dct"], label="DCT arc (scaled to [-1, 1])", color="#2f5d8a", alpha=0.7)
    ax2.set_ylim(-1.1, 1.1)
    last_act = None
    for sc in s["scenes"]:
        if sc["speeches"] == 0:
            continue
        if sc["act"] != last_act:
            ax.axvline(sc["start"], color="black", lw=1)
            ax.text(sc["start"], ax.get_ylim()[1], " act %d" % sc["act"], va="top", fontsize=7)
            last_act = sc["act"]
        else:
            ax.axvline(sc["start"], color="gray", lw=0.5, ls=":")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("narrative time (share of dialogue words)")
    ax.set_ylabel("valence")
    ax.set_title("%s — %s (r %.2f)" % (s["title"] or stem(s["file"]), s["shape"].replace("_", " "), s["shape_r"]))
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_heatmap(s, out, top=12):
    counts = {}
    for sp in s["speeches"]:
        counts[sp["character"]] = counts.get(sp["character"], 0) + sp["words"]
    names = sorted(counts, key=counts.get, reverse=True)[:top]
    n_scenes = len(s["scenes"])
    sums = np.zeros((len(names), n_scenes))
    words = np.zeros((len(names), n_scenes))
    for sp in s["speeches"]:
        if sp["character"] in names and sp["scene"] >= 0:
            i = names.index(sp["character"])
            sums[i, sp["scene"]] += sp["valence"] * sp["words"]
            words[i, sp["scene"]] += sp["words"]
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = np.where(words > 0, sums / np.maximum(words, 1), np.nan)
    fig, ax = plt.subplots(figsize=(max(6, n_scenes * 0.3 + 3), len(names) * 0.35 + 1.5))
    im = ax.imshow(grid, aspect="auto", cmap="RdBu", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xticks(range(n_scenes), ["%d.%d" % (sc["act"], i + 1) for i, sc in enumerate(s["scenes"])],
                  fontsize=6, rotation=90)
    ax.set_xlabel("scene (act.index)")
    ax.set_title("%s: character valence by scene" % (s["title"] or stem(s["file"])), fontsize=9)
    fig.colorbar(im, ax=ax, label="mean VADER compound")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_modes(d, out):
    t = (np.arange(100) + 0.5) / 100
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for i, (m, e) in enumerate(zip(d["modes"], d["explained"])):
        ax.plot(t, m, label="mode %d (%.0f%% of variance)" % (i + 1, 100 * e))
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("narrative time")
    ax.set_title("leading modes of %d arcs" % len(d["scripts"]))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--scripts", default="")
    a = ap.parse_args()
    try:
        d = json.load(open(os.path.join(a.dir, "arcs.json")))
    except (OSError, ValueError) as e:
        sys.exit("plot_arcs.py: %s/arcs.json: %s; run plotforge arcs --out %s FILE... first" % (a.dir, e, a.dir))
    wanted = set(a.scripts.split(",")) if a.scripts else None
    for s in d["scripts"]:
        if wanted and stem(s["file"]) not in wanted:
            continue
        plot_arc(s, os.path.join(a.dir, "arc-%s.png" % stem(s["file"])))
        plot_heatmap(s, os.path.join(a.dir, "heatmap-%s.png" % stem(s["file"])))
    if d["modes"]:
        plot_modes(d, os.path.join(a.dir, "modes.png"))
    print("plot_arcs.py: wrote the PNGs into %s" % a.dir)


if __name__ == "__main__":
    main()
