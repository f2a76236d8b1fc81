#!/usr/bin/env python3
"""Load generator for plotforge-run serve (docs/perf/serving-cpu.md).

At each concurrency C, C clients each send --requests-per-client streamed
completions one after another (greedy, ignore_eos, a token-id prompt of
--prompt-tokens random ids, --max-tokens new tokens), over plain HTTP/1.1 on
loopback. Reported per level: generated tokens per second of wall time,
time to first token p50/p99 and inter-token latency p50/p99, measured at the
client. Bounded: C x requests-per-client requests per level, each with a
timeout. Loopback only: the URL must be on 127.0.0.1 or localhost.

usage: serving_load.py --url http://127.0.0.1:PORT --model NAME --vocab V
           [--concurrency 1,8,32] [--requests-per-client 4] [--prompt-tokens 128] [--max-tokens 64] [--json OUT]
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

from loadgen import percentile, run_clients


def one_request(host, port, body, timeout):
    """(ttft, [inter-token gaps], tokens) of one streamed completion."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    payload = json.dumps(body)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", payload, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError("status %d: %s" % (resp.status, resp.read()[:200]))
    ttft, last, gaps, tokens = None, None, [], 0
    buf = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        buf += chunk
        done = False
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if not event.startswith(b"data: "):
                continue
            data = event[6:]
            if data == b"[DONE]":
                done = True
                break
            j = json.loads(data)
            if j["choices"] and j["choices"][0]["finish_reason"] is None:
                now = time.perf_counter()
                tokens += 1
                if ttft is None:
                    ttft = now - t0
                else:
                    gaps.append(now - last)
                last = now
        if done:
            break
    conn.close()
    return ttft, gaps, tokens


def level(url, model, vocab, concurrency, per_client, prompt_tokens, max_tokens, timeout, seed):
    u = urllib.parse.urlparse(url)
    rng = random.Random(seed)
    bodies = [[{"model": model, "prompt": [rng.randrange(10, vocab) for _ in range(prompt_tokens)],
                "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True, "stream": True}
               for _ in range(per_client)] for _ in range(concurrency)]
    results = []
    lock = threading.Lock()

    def client(i):
        for body in bodies[i]:
            r = one_request(u.hostname, u.port, body, timeout)
            with lock:
                results.append(r)

    wall, errors = run_clients(concurrency, client)
    ttfts = [r[0] for r in results if r[0] is not None]
    gaps = [g for r in results for g in r[1]]
    tokens = sum(r[2] for r in results)
    return {"concurrency": concurrency, "requests": len(results), "errors": errors, "tokens": tokens,
            "wall_s": wall, "tokens_per_s": tokens / wall,
            "ttft_p50_ms": 1e3 * percentile(ttfts, 50), "ttft_p99_ms": 1e3 * percentile(ttfts, 99),
            "itl_p50_ms": 1e3 * percentile(gaps, 50), "itl_p99_ms": 1e3 * percentile(gaps, 99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--requests-per-client", type=int, default=4)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--json")
    a = ap.parse_args()
    host = urllib.parse.urlparse(a.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("serving_load.py: the load stays on loopback; %s is not" % host)
    out = []
    print("| concurrency | requests | generated tokens/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for c in [int(x) for x in a.concurrency.split(",")]:
        # A short warm-up request, so the first level does not pay for first touches.
        level(a.url, a.model, a.vocab, 1, 1, a.prompt_tokens, 4, a.timeout, 0)
        r = level(a.url, a.model, a.vocab, c, a.requests_per_client, a.prompt_tokens, a.max_tokens, a.timeout, c)
        out.append(r)
        print("| %d | %d | %.0f | %.1f | %.1f | %.2f | %.2f |" % (
            c, r["requests"], r["tokens_per_s"], r["ttft_p50_ms"], r["ttft_p99_ms"], r["itl_p50_ms"], r["itl_p99_ms"]))
        for e in r["errors"][:5]:
            print("error:", e, file=sys.stderr)
        sys.stdout.flush()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if any(r["errors"] for r in out):
        sys.exit(1)


if __name__ == "__main__":
    main()
