#!/usr/bin/env python3
"""PNG charts of `plotforge-run analytics --out DIR` (DIR/analytics.json), into DIR:
  flow-<story>.png     the story tree, depth left to right, each edge as wide
                       as the choices made along it, each passage labelled
                       with its visits
  choices-<story>.png  the choice share of each child at the most visited
                       passages with choices
  funnel-<story>.png   viewers reaching each passage of the most travelled
                       path, and the drop-off at each
  preferences.png      the audience's lift per label (chosen share / shown share)
usage: scripts/plot_analytics.py DIR"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def flow(story, out):
    ps = {p["id"]: p for p in story["passages"]}
    kids = {p["id"]: [c["id"] for c in p["children"]] for p in story["passages"]}
    roots = [p["id"] for p in story["passages"] if p["parent"] is None]
    pos, row = {}, [0]

    def place(n, depth):  # leaves get consecutive rows; parents sit at their children's middle
        if not kids[n]:
            pos[n] = (depth, row[0])
            row[0] += 1
        else:
            for c in kids[n]:
                place(c, depth + 1)
            ys = [pos[c][1] for c in kids[n]]
            pos[n] = (depth, (min(ys) + max(ys)) / 2)

    for r in roots:
        place(r, 0)
    most = max([c["choices"] for p in story["passages"] for c in p["children"]] + [1])
    fig, ax = plt.subplots(figsize=(max(6, 2 + 1.6 * max(d for d, _ in pos.values())), max(3, 0.35 * row[0] + 1)))
    for p in story["passages"]:
        for c in p["children"]:
            (x0, y0), (x1, y1) = pos[p["id"]], pos[c["id"]]
            ax.plot([x0, x1], [y0, y1], color="#2f5d8a", alpha=0.8, lw=0.5 + 8 * c["choices"] / most,
                    solid_capstyle="round", zorder=1)
    for n, (x, y) in pos.items():
        ax.scatter([x], [y], s=30, color="#7a2e1f", zorder=2)
        ax.annotate("%d (%d)" % (n, ps[n]["visits"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set(title="%s: flow (edge width: choices; label: passage (visits))" % story["title"], xlabel="depth")
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def choices(story, out):
    ps = sorted((p for p in story["passages"] if p["choices"] > 0), key=lambda p: -p["visits"])[:12]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.5 * len(ps) + 1)))
    for i, p in enumerate(ps):
        left = 0.0
        for c in sorted(p["children"], key=lambda c: -c["share"]):
            if c["share"] <= 0:
                continue
            ax.barh(i, c["share"], left=left, edgecolor="white")
            if c["share"] > 0.06:
                ax.text(left + c["share"] / 2, i, "%d: %.0f%%" % (c["id"], 100 * c["share"]), ha="center",
                        va="center", fontsize=7)
            left += c["share"]
    ax.set_yticks(range(len(ps)))
    ax.set_yticklabels(["passage %d (%d visits)" % (p["id"], p["visits"]) for p in ps], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="share of the choices made there", title="%s: choice shares" % story["title"])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def funnel(story, out):
    ps = {p["id"]: p for p in story["passages"]}
    path = story["most_travelled_path"]
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(path) + 2), 3.5))
    ax.bar(range(len(path)), story["funnel"], color="#2f5d8a")
    for i, n in enumerate(path):
        ax.text(i, story["funnel"][i], "drop %.0f%%" % (100 * ps[n]["dropoff"]), ha="center", va="bottom",
                fontsize=7)
    ax.set_xticks(range(len(path)))
    ax.set_xticklabels([str(n) for n in path], fontsize=8)
    ax.set(xlabel="passage along the most travelled path", ylabel="viewers reaching it",
           title="%s: funnel" % story["title"])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def preferences(report, out):
    rows = [(kind, v, x["lift"]) for kind, vals in sorted(report["preferences"].items())
            for v, x in sorted(vals.items())]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(rows) + 1)))
    if rows:
        ax.barh(range(len(rows)), [r[2] for r in rows], color="#7a2e1f")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(["%s=%s" % (k, v) for k, v, _ in rows], fontsize=8)
        ax.invert_yaxis()
    else:
        ax.text(0.5, 0.5, "no labelled choices yet", ha="center", va="center")
    ax.set(xlabel="lift (share among chosen / share among shown)", title="Audience preferences")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    path = os.path.join(d, "analytics.json")
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("%s: %s; run plotforge-run analytics --out %s first" % (path, e, d))
    for s in report["stories"]:
        flow(s, os.path.join(d, "flow-%s.png" % s["id"]))
        choices(s, os.path.join(d, "choices-%s.png" % s["id"]))
        funnel(s, os.path.join(d, "funnel-%s.png" % s["id"]))
    preferences(report, os.path.join(d, "preferences.png"))
    print("wrote %d charts into %s" % (3 * len(report["stories"]) + 1, d))


if __name__ == "__main__":
    main()
