#!/usr/bin/env python3
"""The genre fine-tuning study's table and plot (scripts/study_genre_finetune.sh).

    python3 scripts/plot_genre_study.py WORKDIR

Reads WORKDIR/{base,full,lora-r8,lora-r16}/metrics.jsonl (training time),
WORKDIR/eval/MODEL/{held-comedy,held-tragedy}/report.json (perplexity and
genre adherence) and WORKDIR/ship/ (what each model ships), and writes
WORKDIR/report.md (a Markdown table) and WORKDIR/genre-study.png.
"""
import json
import os
import sys

MODELS = ["base", "full", "lora-r8", "lora-r16"]


def fail(msg):
    sys.exit(f"plot_genre_study.py: {msg}")


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}; run scripts/study_genre_finetune.sh first")


def training_seconds(run):
    path = os.path.join(run, "metrics.jsonl")
    last = None
    try:
        with open(path) as f:
            for line in f:
                j = json.loads(line)
                if "elapsed_s" in j:
                    last = j
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    if last is None:
        fail(f"{path}: no logged step")
    return last["elapsed_s"], last["step"]


def tensor_count(path):
    """Parameters in a safetensors file (its header only)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    total = 0
    for k, v in header.items():
        if k == "__metadata__":
            continue
        c = 1
        for d in v["shape"]:
            c *= d
        total += c
    return total


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def main():
    if len(sys.argv) != 2:
        fail("usage: plot_genre_study.py WORKDIR")
    w = sys.argv[1]
    rows = {}
    base_params = tensor_count(os.path.join(w, "ship", "base", "model.safetensors"))
    for m in MODELS:
        r = {}
        r["seconds"], r["steps"] = training_seconds(os.path.join(w, m))
        for held in ["held-comedy", "held-tragedy"]:
            rep = read_json(os.path.join(w, "eval", m, held, "report.json"))
            r[held + ".ppl"] = rep["perplexity"]["transformer"]["perplexity"]
            r[held + ".scenes"] = rep["perplexity"]["transformer"]["scenes"]
            pts = [p for p in rep["points"] if p["generator"] == "transformer"]
            r[held + ".adherence"] = pts[0]["genre_adherence"]
            r[held + ".real_adherence"] = rep["real"]["genre_adherence"]
        ship = os.path.join(w, "ship", m)
        if m.startswith("lora"):
            r["trainable"] = tensor_count(os.path.join(ship, "adapter_model.safetensors"))
        else:
            r["trainable"] = base_params
        r["ships_bytes"] = dir_bytes(ship)
        rows[m] = r

    b, f = rows["base"], rows["full"]
    gain_full = b["held-comedy.ppl"] - f["held-comedy.ppl"]
    lines = [
        "| model | trained | steps | training time | trainable parameters | ships | held-out comedy ppl "
        "| held-out tragedy ppl | comedy gain recovered | comedy adherence | tragedy adherence |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in MODELS:
        r = rows[m]
        gain = b["held-comedy.ppl"] - r["held-comedy.ppl"]
        rec = "" if m == "base" else f"{100 * gain / gain_full:.0f}%" if gain_full > 0 else "n/a"
        share = f"{r['trainable']:,} ({100 * r['trainable'] / base_params:.2f}%)"
        lines.append(
            f"| {m} | {'all plays + screenplays' if m == 'base' else 'comedies'} | {r['steps']} "
            f"| {r['seconds']:.0f} s | {share} | {r['ships_bytes'] / 1e6:.2f} MB "
            f"| {r['held-comedy.ppl']:.2f} | {r['held-tragedy.ppl']:.2f} | {rec} "
            f"| {r['held-comedy.adherence']:.3f} | {r['held-tragedy.adherence']:.3f} |")
    lines.append("")
    lines.append(f"Classifier genre accuracy on the real held-out scenes (the adherence ceiling): comedy "
                 f"{b['held-comedy.real_adherence']:.3f}, tragedy {b['held-tragedy.real_adherence']:.3f}; "
                 f"perplexity over {b['held-comedy.scenes']} comedy and {b['held-tragedy.scenes']} tragedy scenes.")
    report = "\n".join(lines) + "\n"
    with open(os.path.join(w, "report.md"), "w") as out:
        out.write(report)
    with open(os.path.join(w, "report.json"), "w") as out:
        json.dump(rows, out, indent=1)
    print(report)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    x = range(len(MODELS))
    # Perplexity as the change from the base, in percent: the differences
    # are a few percent of values near 20, invisible on bars drawn from 0.
    def change(m, held):
        return 100 * (rows[m][held + ".ppl"] / b[held + ".ppl"] - 1)
    ax[0].bar([i - 0.2 for i in x], [change(m, "held-comedy") for m in MODELS], 0.4, label="held-out comedies")
    ax[0].bar([i + 0.2 for i in x], [change(m, "held-tragedy") for m in MODELS], 0.4, label="held-out tragedies")
    ax[0].axhline(0, color="black", linewidth=0.8)
    ax[0].set_xticks(list(x), MODELS)
    ax[0].set_ylabel("perplexity change from the base, % (lower is better)")
    ax[0].set_title("Fine-tuning on the comedies")
    ax[0].legend(loc="best")
    ax[1].bar([i - 0.2 for i in x], [rows[m]["held-comedy.adherence"] for m in MODELS], 0.4, label="asked comedy")
    ax[1].bar([i + 0.2 for i in x], [rows[m]["held-tragedy.adherence"] for m in MODELS], 0.4, label="asked tragedy")
    ax[1].set_xticks(list(x), MODELS)
    ax[1].set_ylabel("classifier genre adherence of samples")
    ax[1].set_ylim(0, 1)
    ax[1].set_title("Genre adherence (classifier)")
    ax[1].legend(loc="best")
    fig.tight_layout()
    png = os.path.join(w, "genre-study.png")
    fig.savefig(png, dpi=100)
    print(f"wrote {w}/report.md, {w}/report.json and {png}")


if __name__ == "__main__":
    main()
