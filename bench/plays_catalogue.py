#!/usr/bin/env python3
"""Recommending plays to synthetic viewers whose tastes are genres and arc
shapes (docs/recommendation.md, "Content: the plays catalogue").

This is a simulation: the viewers are formulas. It shows whether a
recommender that sees the plays' content (their genre and arc, computed by
`plotforge recommend features`) places plays nobody has chosen yet where a
viewer's taste puts them, against one that sees only who chose what. It
cannot show that real audiences choose by genre and arc.

Setup, all from --seed: the 37 plays' features (--items, written by
`plotforge recommend features`); --new of them are new releases. Each of
--viewers viewers likes one genre (+2.5) and one arc shape (+1.5) and
chooses --picks plays by a logit model (Gumbel-top-k over utility + noise).
Test: two of each viewer's picks of older plays, and every pick of a new
play except those of --seen-new viewers per new play, which stay in
training (a new release has a handful of viewers). Every model is trained
by `plotforge recommend train` on the rest and asked by `plotforge
recommend predict` for each viewer's top --k; reported: recall@k over the
test picks of new plays and of older plays, and NDCG@k over all.

usage: plays_catalogue.py --pf build/bin/plotforge --items items.csv --out DIR
"""
import argparse
import csv
import json
import math
import os
import random
import subprocess
import sys

MODELS = [
    ("popularity", []),
    ("als", ["--factors", "16", "--reg", "1", "--iterations", "15"]),
    ("bpr", ["--factors", "16", "--epochs", "150", "--batch", "256", "--lr", "0.01"]),
    ("hybrid", ["--factors", "16", "--epochs", "150", "--batch", "256", "--lr", "0.01"]),
    ("hybrid", ["--factors", "16", "--epochs", "150", "--batch", "256", "--lr", "0.01", "--item-identity", "false"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pf", required=True)
    ap.add_argument("--items", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--viewers", type=int, default=600)
    ap.add_argument("--picks", type=int, default=8)
    ap.add_argument("--new", type=int, default=8)
    ap.add_argument("--seen-new", type=int, default=2)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    with open(args.items) as f:
        plays = list(csv.DictReader(f))
    names = [p["item"] for p in plays]
    genres = sorted({p["genre"] for p in plays})
    shapes = sorted({p["shape"] for p in plays})
    new = set(rng.sample(names, args.new))

    picks = {}
    for v in range(args.viewers):
        g, s = rng.choice(genres), rng.choice(shapes)
        u = {p["item"]: 2.5 * (p["genre"] == g) + 1.5 * (p["shape"] == s) - math.log(-math.log(rng.random()))
             for p in plays}
        picks["v%d" % v] = sorted(names, key=lambda i: -u[i])[:args.picks]
    train, test = [], []
    kept_new = {i: 0 for i in new}
    for v, chosen in picks.items():
        old = [i for i in chosen if i not in new]
        held = set(rng.sample(old, min(2, len(old) - 1))) if len(old) > 1 else set()
        for i in chosen:
            if i in new:
                if kept_new[i] < args.seen_new:
                    kept_new[i] += 1
                    train.append((v, i))
                else:
                    test.append((v, i))
            elif i in held:
                test.append((v, i))
            else:
                train.append((v, i))
    log = os.path.join(args.out, "train.csv")
    with open(log, "w") as f:
        f.write("user,item\n" + "".join("%s,%s\n" % r for r in train))
    by_user = {}
    for v, i in test:
        by_user.setdefault(v, set()).add(i)

    results = {}
    for model, flags in MODELS:
        label = model + (" (features alone)" if "--item-identity" in flags else "")
        run = os.path.join(args.out, "run-" + label.replace(" ", "-").replace("(", "").replace(")", ""))
        subprocess.run(["rm", "-rf", run], check=True)
        cmd = [args.pf, "recommend", "train", "--interactions", log, "--out", run, "--model", model,
               "--seed", str(args.seed)] + flags
        if model == "hybrid":
            cmd += ["--item-features", args.items]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
        users = sorted(by_user)
        out = subprocess.run([args.pf, "recommend", "predict", "--run", run, "--k", str(args.k), "--json"] +
                             sum((["--user", u] for u in users), []),
                             check=True, capture_output=True, text=True, timeout=600).stdout
        recs = {}
        for line in out.splitlines():
            j = json.loads(line)
            recs[j["user"]] = [x["item"] for x in j["items"]]
        hit = {"new": 0, "old": 0}
        total = {"new": 0, "old": 0}
        ndcg = 0.0
        for u in users:
            rel = by_user[u]
            for i in rel:
                kind = "new" if i in new else "old"
                total[kind] += 1
                hit[kind] += i in recs[u]
            dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(recs[u]) if i in rel)
            ideal = sum(1 / math.log2(r + 2) for r in range(min(len(rel), args.k)))
            ndcg += dcg / ideal
        results[label] = {"recall_new": hit["new"] / total["new"], "recall_old": hit["old"] / total["old"],
                          "ndcg": ndcg / len(users), "test_new": total["new"], "test_old": total["old"]}
        print("plays_catalogue: %s done" % label, file=sys.stderr, flush=True)
    with open(os.path.join(args.out, "plays_catalogue.json"), "w") as f:
        json.dump({"args": vars(args), "new": sorted(new), "train": len(train), "test": len(test),
                   "results": results}, f, indent=1)
    print("%d viewers x %d picks of %d plays; %d new releases (%d viewers each in training); %d train, %d test"
          % (args.viewers, args.picks, len(names), len(new), args.seen_new, len(train), len(test)))
    print("new releases: %s" % ", ".join(sorted(new)))
    print()
    print("| model | recall@%d, new releases | recall@%d, older plays | NDCG@%d, all |" % (args.k, args.k, args.k))
    print("|---|---|---|---|")
    for label, r in results.items():
        print("| %s | %.3f | %.3f | %.3f |" % (label, r["recall_new"], r["recall_old"], r["ndcg"]))


if __name__ == "__main__":
    main()
