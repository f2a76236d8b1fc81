#!/usr/bin/env python3
"""A simulated audience through the real story server (docs/personalisation.md).

This is a simulation: the viewers are formulas, not people. It shows that
the ranker learns a taste that is a function of the features it sees, and
how fast; it cannot show that real viewers' tastes are such functions, nor
that the features capture what people care about in a story.

Setup: --offers stories, each with one offer of 2k candidates generated
once (personalise off), the same for every viewer and every ranker. Each of
--viewers synthetic viewers has a hidden preference vector over the
candidate features (personalisation/features.h): one of four taste
clusters (dark turns, light and loud, talkers, novelty seekers) plus
Gaussian noise; with --class-tastes (a server run with --classifier) the
clusters also weigh the scene classifier's genre probabilities. At each of --choices steps the viewer meets one offer (in
their own order) and k of its candidates are shown by each ranker:
  personalised  POST /rank as the viewer: their profile (Thompson sampling,
                one exploration slot); their choice is sent to /choose;
  popularity    POST /rank as the shared viewer "everyone": one audience-wide
                model learnt from every viewer's choices;
  random        a seeded shuffle;
  oracle        the k truly best, best first: the ceiling no ranker can pass.
The viewer chooses by a logit model: argmax of utility + Gumbel noise, the
same noise draws for every ranker. Reported per step, averaged over
viewers: the share of choices that went to the ranker's first candidate,
and the cumulative regret: the expected utility of the choice when an
oracle shows the k truly best, minus that under the ranker's k. Loopback
only; a fixed number of requests, each with a timeout.

usage: audience_sim.py --url http://127.0.0.1:PORT --out DIR [--viewers 200] [--choices 30] [--k 3] [--class-tastes]
"""
import argparse
import concurrent.futures
import http.client
import json
import math
import os
import random
import sys
import threading
import urllib.parse

TEXT_FEATURES = ["valence", "intensity", "length", "novelty", "dialogue", "new_voice", "exclamation"]
CLUSTERS = {
    "dark turns": {"valence": -4.0, "intensity": 1.5},
    "light and loud": {"valence": 3.0, "exclamation": 2.5},
    "talkers": {"dialogue": 3.0, "new_voice": 2.0},
    "novelty seekers": {"novelty": 4.0, "length": 1.5},
}
# With --class-tastes (a server run with --classifier): tastes in the scene
# classifier's genres too.
CLASS_TASTES = {
    "dark turns": {"genre=tragedy": 3.0},
    "light and loud": {"genre=comedy": 3.0},
    "talkers": {"genre=history": 2.0},
    "novelty seekers": {},
}
ARMS = ["personalised", "popularity", "random", "oracle"]


class Api:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("audience_sim.py: the server must be on loopback")
        self.host, self.port = u.hostname, u.port

    def post(self, path, body, status=(200, 201)):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = json.loads(resp.read())
        conn.close()
        if resp.status not in status:
            raise RuntimeError("%s: %d %s" % (path, resp.status, data))
        return data


def expected_utility(us):
    """E[u of the choice] when choosing among utilities us by a logit model."""
    m = max(us)
    ws = [math.exp(u - m) for u in us]
    return sum(w * u for w, u in zip(ws, us)) / sum(ws)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--viewers", type=int, default=200)
    ap.add_argument("--choices", type=int, default=30)
    ap.add_argument("--offers", type=int, default=30)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=40)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--taste-scale", type=float, default=1.0,
                    help="multiplies every hidden preference vector: how sharp tastes are against the choice noise")
    ap.add_argument("--class-tastes", action="store_true",
                    help="tastes also weigh the classifier's genre probabilities (the server needs --classifier)")
    args = ap.parse_args()
    api = Api(args.url)
    os.makedirs(args.out, exist_ok=True)

    # The offers: 2k candidates each, generated once.
    offers = []
    features = None  # every feature the server's candidates carry: the text's, then a classifier's
    for o in range(args.offers):
        st = api.post("/v1/stories", {"title": "offer %d" % o,
                                      "premise": "INT. A GREAT HALL - NIGHT\n\nThe court is gathered.\n\n"})
        out = api.post("/v1/stories/%s/branches" % st["id"],
                       {"k": 2 * args.k, "max_tokens": args.max_tokens, "seed": 1000 + o, "temperature": 1.0,
                        "personalise": False})
        if features is None:
            names = out["passages"][0]["controls"]["features"]
            features = TEXT_FEATURES + sorted(set(names) - set(TEXT_FEATURES))
        cands = {p["id"]: [p["controls"]["features"][f] for f in features] for p in out["passages"]}
        offers.append({"story": st["id"], "node": st["root"], "candidates": cands})
        print("audience_sim: offer %d/%d" % (o + 1, args.offers), file=sys.stderr, flush=True)

    rng = random.Random(args.seed)
    names = list(CLUSTERS)
    viewers = []
    for i in range(args.viewers):
        cluster = names[i % len(names)]
        taste = dict(CLUSTERS[cluster])
        if args.class_tastes:
            taste.update(CLASS_TASTES[cluster])
        # Noise on the features tastes are over: the text's, and the genres'
        # with --class-tastes; the rest weigh nothing.
        tasted = TEXT_FEATURES + ([f for f in features if f.startswith("genre=")] if args.class_tastes else [])
        w = [args.taste_scale * (taste.get(f, 0.0) + rng.gauss(0, 0.5)) if f in tasted else 0.0
             for f in features]
        order = list(range(args.offers))
        rng.shuffle(order)
        viewers.append({"id": "viewer-%d" % i, "cluster": cluster, "w": w, "offers": order[:args.choices]})

    everyone = threading.Lock()  # the shared viewer's rank, choose and undo go together

    def play(v):
        vr = random.Random(args.seed * 100003 + int(v["id"].split("-")[1]))
        rows = []
        for t, o in enumerate(v["offers"]):
            offer = offers[o]
            ids = list(offer["candidates"])
            u = {i: sum(a * b for a, b in zip(v["w"], offer["candidates"][i])) for i in ids}
            noise = {i: -math.log(-math.log(vr.random())) for i in ids}  # Gumbel draws, shared by the rankers
            best = sorted(ids, key=lambda i: -u[i])[:args.k]
            oracle = expected_utility([u[i] for i in best])
            seed = vr.randrange(1 << 62)
            shown = {}
            r = api.post("/v1/stories/%s/rank" % offer["story"],
                         {"node": offer["node"], "viewer": v["id"], "k": args.k, "seed": seed})
            shown["personalised"] = [x["id"] for x in r["ranking"]]
            with everyone:
                r = api.post("/v1/stories/%s/rank" % offer["story"],
                             {"node": offer["node"], "viewer": "everyone", "k": args.k, "seed": seed})
                shown["popularity"] = [x["id"] for x in r["ranking"]]
                pick = max(shown["popularity"], key=lambda i: u[i] + noise[i])
                api.post("/v1/stories/%s/choose" % offer["story"], {"node": pick, "viewer": "everyone"})
                api.post("/v1/stories/%s/undo" % offer["story"], {"viewer": "everyone"})
            shuffled = ids[:]
            random.Random(seed).shuffle(shuffled)
            shown["random"] = shuffled[:args.k]
            shown["oracle"] = best
            row = {"step": t + 1}
            for arm in ARMS:
                pick = max(shown[arm], key=lambda i: u[i] + noise[i])
                row[arm + "_first"] = pick == shown[arm][0]
                row[arm + "_regret"] = oracle - expected_utility([u[i] for i in shown[arm]])
            pick = max(shown["personalised"], key=lambda i: u[i] + noise[i])
            api.post("/v1/stories/%s/choose" % offer["story"], {"node": pick, "viewer": v["id"]})
            rows.append(row)
        return v["id"], rows

    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        for n, f in enumerate(concurrent.futures.as_completed([pool.submit(play, v) for v in viewers]), 1):
            vid, rows = f.result()
            results[vid] = rows
            if n % 20 == 0 or n == len(viewers):
                print("audience_sim: %d/%d viewers" % (n, len(viewers)), file=sys.stderr, flush=True)

    steps = args.choices
    curve = {arm: {"first": [], "regret": []} for arm in ARMS}
    for arm in ARMS:
        cum = [0.0] * len(viewers)
        for t in range(steps):
            firsts, regrets = [], []
            for j, v in enumerate(viewers):
                row = results[v["id"]][t]
                firsts.append(row[arm + "_first"])
                cum[j] += row[arm + "_regret"]
                regrets.append(cum[j])
            curve[arm]["first"].append(sum(firsts) / len(firsts))
            curve[arm]["regret"].append(sum(regrets) / len(regrets))
    summary = {}
    for arm in ARMS:
        early = curve[arm]["first"][:10]
        late = curve[arm]["first"][10:]
        summary[arm] = {"first_share_choices_1_10": sum(early) / len(early),
                        "first_share_after_10": sum(late) / len(late) if late else float("nan"),
                        "cumulative_regret": curve[arm]["regret"][-1]}
    ratio = summary["personalised"]["first_share_after_10"] / summary["random"]["first_share_after_10"]
    with open(os.path.join(args.out, "audience_sim.json"), "w") as f:
        json.dump({"args": vars(args), "features": features, "clusters": CLUSTERS,
                   "class_tastes": CLASS_TASTES if args.class_tastes else None, "curves": curve, "summary": summary,
                   "ratio_personalised_to_random_after_10": ratio}, f, indent=1)

    print("| ranker | first candidate chosen, choices 1-10 | after 10 choices (11-%d) | cumulative regret at %d |"
          % (steps, steps))
    print("|---|---|---|---|")
    for arm in ARMS:
        s = summary[arm]
        print("| %s | %.3f | %.3f | %.2f |" % (arm, s["first_share_choices_1_10"], s["first_share_after_10"],
                                              s["cumulative_regret"]))
    print("\npersonalised / random, first candidate chosen after 10 choices: %.2fx" % ratio)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("audience_sim: matplotlib missing: no PNGs (pip install matplotlib)", file=sys.stderr)
        return
    x = list(range(1, steps + 1))
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for arm in ARMS:
        ax[0].plot(x, curve[arm]["first"], label=arm)
        ax[1].plot(x, curve[arm]["regret"], label=arm)
    ax[0].set(xlabel="choice", ylabel="share choosing the first candidate", title="First candidate chosen")
    ax[1].set(xlabel="choice", ylabel="mean cumulative regret", title="Regret against an oracle")
    for a in ax:
        a.legend()
        a.grid(alpha=0.3)
    fig.suptitle("Simulated audience: %d viewers, k = %d of %d candidates, taste scale %g, %d features%s"
                 % (len(viewers), args.k, 2 * args.k, args.taste_scale, len(features),
                    ", genre tastes" if args.class_tastes else ""))
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "audience_sim.png"), dpi=110)


if __name__ == "__main__":
    main()
