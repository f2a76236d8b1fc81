#!/usr/bin/env python3
"""Load generator for the story API (docs/perf/stories-cpu.md): S players at
once, each on a story of its own with a long opening (--premise-file), each
taking --steps steps of: POST branches (k candidates, streamed, greedy with a
fixed seed per story and step, so two runs generate the same passages), then
POST choose. Reported: passages per second of wall time, and the time from
the choose request's start to the first streamed token of the next
branches, p50 and p99. Bounded (S x steps requests, each with a timeout) and
loopback only.

usage: stories_load.py --url http://127.0.0.1:PORT --premise-file F [--stories 32] [--k 3] [--steps 5]
                       [--max-tokens 64] [--label NAME]
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

from loadgen import percentile, run_clients


class Client:
    def __init__(self, url, timeout):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout

    def post(self, path, body, stream=False):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if not stream:
            data = json.loads(resp.read())
            conn.close()
            if resp.status >= 300:
                raise RuntimeError("%s: %d %s" % (path, resp.status, data))
            return data
        if resp.status != 200:
            raise RuntimeError("%s: %d %s" % (path, resp.status, resp.read()[:200]))
        return conn, resp


def play(client, premise, i, a, out, lock):
    story = client.post("/v1/stories", {"title": "load %d" % i, "premise": premise, "genre": a.genre} if a.genre
                        else {"title": "load %d" % i, "premise": premise})
    sid = story["id"]
    first_token, passages = [], 0
    t_choose = None
    for step in range(a.steps):
        body = {"k": a.k, "max_tokens": a.max_tokens, "temperature": 0, "seed": 1000 * i + step, "stream": True}
        t0 = t_choose if t_choose is not None else time.perf_counter()
        conn, resp = client.post("/v1/stories/%s/branches" % sid, body, stream=True)
        buf, first, final = b"", None, None
        while final is None:
            chunk = resp.read1(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                if not event.startswith(b"data: ") or event == b"data: [DONE]":
                    continue
                msg = json.loads(event[6:])
                if "candidate" in msg and first is None:
                    first = time.perf_counter() - t0
                if "passages" in msg:
                    final = msg
                if "error" in msg:
                    raise RuntimeError(msg["error"]["message"])
        conn.close()
        if final is None:
            raise RuntimeError("the stream ended without passages")
        if first is not None and step > 0:
            first_token.append(first)
        passages += len(final["passages"])
        t_choose = time.perf_counter()
        client.post("/v1/stories/%s/choose" % sid, {"node": final["passages"][0]["id"]})
    with lock:
        out["first_token"].extend(first_token)
        out["passages"] += passages
        out["done"] += 1
        # Progress on stderr: a run takes minutes.
        print("stories_load.py %s: %d of %d stories done" % (a.label, out["done"], a.stories), file=sys.stderr,
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--premise-file", required=True)
    ap.add_argument("--stories", type=int, default=32)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--genre", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    if urllib.parse.urlparse(a.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("stories_load.py: the load stays on loopback")
    premise = open(a.premise_file).read()
    client = Client(a.url, a.timeout)
    out, lock = {"first_token": [], "passages": 0, "done": 0}, threading.Lock()
    wall, errors = run_clients(a.stories, lambda i: play(client, premise, i, a, out, lock))
    ft = out["first_token"]
    print("| %s | %d | %.1f | %.2f | %.0f | %.0f |" % (
        a.label, out["passages"], wall, out["passages"] / wall, 1e3 * percentile(ft, 50), 1e3 * percentile(ft, 99)))
    for e in errors[:5]:
        print("error:", e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
