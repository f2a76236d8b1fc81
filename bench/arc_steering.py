#!/usr/bin/env python3
"""How closely arc-steered stories follow their target (docs/emotion.md,
"Arc steering"), through the story API of a running plotforge-run serve.

For each of Reagan's six shapes, --stories stories of --passages passages,
in three variants that share the model, the premise and every seed:
  steered     the story has the arc: each passage is conditioned on the
              target's valence class and the pick of k candidates (the one
              whose measured valence is closest to the target) is chosen;
  label only  the arc with k = 1: conditioning alone, no selection;
  unsteered   no arc, k candidates, the first one chosen (what a viewer
              taking the first offer gets).
Per story: the Pearson correlation between the target points and the
chosen passages' measured valences (0 when either is flat). Reported: the
mean per shape and over all, as a Markdown table, and every story's arcs
in --json. Bounded (a fixed number of requests, each with a timeout) and
loopback only.

usage: arc_steering.py --url http://127.0.0.1:PORT [--stories 20] [--passages 8] [--k 4]
                       [--max-tokens 48] [--threads 8] [--json out.json]
"""
import argparse
import concurrent.futures
import http.client
import json
import math
import sys
import urllib.parse

SHAPES = ["rags_to_riches", "riches_to_rags", "man_in_a_hole", "icarus", "cinderella", "oedipus"]
PREMISE = "INT. A GREAT HALL - NIGHT\n\nThe court is gathered.\n\n"


def post(url, path, body):
    u = urllib.parse.urlparse(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("arc_steering.py: the server must be on loopback")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    if resp.status >= 300:
        raise RuntimeError("%s: %d %s" % (path, resp.status, data))
    return data


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else 0.0


def story(args, shape, seed, variant):
    body = {"title": "%s %d" % (shape, seed), "premise": PREMISE, "max_tokens": args.max_tokens,
            "temperature": args.temperature}
    if variant != "unsteered":
        body.update({"arc": shape, "arc_passages": args.passages})
    st = post(args.url, "/v1/stories", body)
    k = 1 if variant == "label only" else args.k
    target, measured = [], []
    for d in range(1, args.passages + 1):
        out = post(args.url, "/v1/stories/%s/branches" % st["id"], {"k": k, "seed": seed * 1000 + d})
        if variant == "unsteered":
            pick = out["passages"][0]["id"]
        else:
            pick = out["arc"]["pick"]
            target.append(out["arc"]["target"])
        chosen = next(p for p in out["passages"] if p["id"] == pick)
        measured.append(chosen["controls"]["measured_valence"])
        post(args.url, "/v1/stories/%s/choose" % st["id"], {"node": pick})
    return {"shape": shape, "seed": seed, "variant": variant, "target": target, "measured": measured}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--stories", type=int, default=20)
    ap.add_argument("--passages", type=int, default=8)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--temperature", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    variants = ["steered", "label only", "unsteered"]
    jobs = [(shape, 1 + 100 * s + i, v) for s, shape in enumerate(SHAPES) for i in range(args.stories)
            for v in variants]
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        futures = [pool.submit(story, args, *j) for j in jobs]
        for n, f in enumerate(concurrent.futures.as_completed(futures), 1):
            results.append(f.result())
            if n % 10 == 0 or n == len(jobs):
                print("arc_steering: %d/%d stories" % (n, len(jobs)), file=sys.stderr, flush=True)
    # The unsteered stories' targets: the same shape's points, from a steered twin.
    points = {}
    for r in results:
        if r["target"]:
            points[r["shape"]] = r["target"]
    for r in results:
        r["r"] = pearson(points[r["shape"]], r["measured"])
    print("| shape | steered (k=%d) | label only (k=1) | unsteered (k=%d, first) |" % (args.k, args.k))
    print("|---|---|---|---|")
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
    for shape in SHAPES + ["all"]:
        row = []
        for v in variants:
            rs = [r["r"] for r in results if r["variant"] == v and (shape == "all" or r["shape"] == shape)]
            row.append("%.3f" % mean(rs))
        print("| %s | %s |" % ("**all**" if shape == "all" else shape, " | ".join(row)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "stories": results}, f, indent=1)


if __name__ == "__main__":
    main()
