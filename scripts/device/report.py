"""Turns the two benchmark CSVs into the markdown report for docs/perf/.

usage: report.py OURS.csv SDPA.csv > report.md
"""
import csv
import sys


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def main():
    ours, sdpa = rows(sys.argv[1]), rows(sys.argv[2])
    copy = [r for r in ours if r["kind"] == "copy"]
    copy_gbps = float(copy[0]["gbps"]) if copy else float("nan")
    print("### Forward, bf16 (B*T = 16384 tokens, H*D = 2048)\n")
    print("| D | T | causal | ours TFLOP/s | best SDPA fwd TFLOP/s (backend) | ours / SDPA | default SDPA fwd | best SDPA fwd+bwd TFLOP/s (backend) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in ours:
        if r["kind"] != "forward":
            continue
        key = (r["seq"], r["head_dim"], r["causal"])
        same = [s for s in sdpa if (s["seq"], s["head_dim"], s["causal"]) == key]
        fwd = [s for s in same if s["pass"] == "forward" and s["backend"] != "default"]
        both = [s for s in same if s["pass"] == "forward+backward" and s["backend"] != "default"]
        default = [s for s in same if s["pass"] == "forward" and s["backend"] == "default"]
        best = max(fwd, key=lambda s: float(s["tflops"])) if fwd else None
        best_fb = max(both, key=lambda s: float(s["tflops"])) if both else None
        ratio = float(r["tflops"]) / float(best["tflops"]) if best else float("nan")
        print(f"| {r['head_dim']} | {r['seq']} | {r['causal']} | {float(r['tflops']):.1f} | "
              + (f"{float(best['tflops']):.1f} ({best['backend']})" if best else "n/a")
              + f" | {ratio:.2f} | " + (f"{float(default[0]['tflops']):.1f}" if default else "n/a") + " | "
              + (f"{float(best_fb['tflops']):.1f} ({best_fb['backend']})" if best_fb else "n/a") + " |")
    print("\n### Forward + backward, bf16 (same grid; FLOPs = 3.5x the forward's)\n")
    print("| D | T | causal | ours TFLOP/s | best SDPA fwd+bwd TFLOP/s (backend) | ours / SDPA |")
    print("|---|---|---|---|---|---|")
    for r in ours:
        if r["kind"] != "forward+backward":
            continue
        key = (r["seq"], r["head_dim"], r["causal"])
        both = [s for s in sdpa if (s["seq"], s["head_dim"], s["causal"]) == key
                and s["pass"] == "forward+backward" and s["backend"] != "default"]
        best = max(both, key=lambda s: float(s["tflops"])) if both else None
        ratio = float(r["tflops"]) / float(best["tflops"]) if best else float("nan")
        print(f"| {r['head_dim']} | {r['seq']} | {r['causal']} | {float(r['tflops']):.1f} | "
              + (f"{float(best['tflops']):.1f} ({best['backend']})" if best else "n/a") + f" | {ratio:.2f} |")
    print(f"\n### Paged decode, bf16 (32 query heads, 8 KV heads, D=128, 16-token blocks)\n")
    print(f"Device-to-device copy bandwidth measured in the same run: {copy_gbps:.0f} GB/s (read + write).\n")
    print("| sequences | context | ms | GB/s | % of copy bandwidth |")
    print("|---|---|---|---|---|")
    for r in ours:
        if r["kind"] == "decode":
            g = float(r["gbps"])
            print(f"| {r['batch']} | {r['seq']} | {float(r['ms']):.4f} | {g:.0f} | {100 * g / copy_gbps:.0f}% |")


if __name__ == "__main__":
    main()
