#!/usr/bin/env python3
"""Does the arc measure something? From `plotforge arcs --out DIR` over the
37 plays: the mean valence of each play's last act (word-weighted over its
scenes), the AUC with which it separates tragedies from comedies (the
probability that a random comedy ends higher than a random tragedy), and
the shapes found per genre.  usage: scripts/emotion_evidence.py DIR"""
import json
import os
import sys
from collections import Counter, defaultdict


def last_act_valence(s):
    acts = [sc["act"] for sc in s["scenes"] if sc["speeches"]]
    last = max(acts)
    total = weight = 0.0
    for sc in s["scenes"]:
        if sc["act"] == last and sc["speeches"]:
            # Scene valences are word-weighted means already; weight scenes by their speeches' words.
            w = sum(sp["words"] for sp in s["speeches"] if sp["scene"] == s["scenes"].index(sc))
            total += sc["valence"] * w
            weight += w
    return total / weight if weight else 0.0


def main():
    d = json.load(open(os.path.join(sys.argv[1], "arcs.json")))
    by_genre = defaultdict(list)
    shapes = defaultdict(Counter)
    for s in d["scripts"]:
        g = s["genres"][0] if s["genres"] else "none"
        by_genre[g].append((last_act_valence(s), os.path.basename(s["file"])))
        shapes[g][s["shape"]] += 1
    comedies = [v for v, _ in by_genre["comedy"]]
    tragedies = [v for v, _ in by_genre["tragedy"]]
    pairs = [(c, t) for c in comedies for t in tragedies]
    auc = sum(1.0 if c > t else 0.5 if c == t else 0.0 for c, t in pairs) / len(pairs)
    print("last act's mean valence, comedies (n=%d) against tragedies (n=%d): AUC %.3f" %
          (len(comedies), len(tragedies), auc))
    for g in sorted(by_genre):
        vals = sorted(by_genre[g])
        print("  %-8s mean %+.3f  (lowest %s %+.3f, highest %s %+.3f)" % (
            g, sum(v for v, _ in vals) / len(vals), vals[0][1], vals[0][0], vals[-1][1], vals[-1][0]))
    print("shapes per genre:")
    for g in sorted(shapes):
        print("  %-8s %s" % (g, ", ".join("%s %d" % kv for kv in shapes[g].most_common())))


if __name__ == "__main__":
    main()
