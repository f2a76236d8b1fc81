#!/usr/bin/env python3
"""libtorch's fp32 (OpenBLAS) against bf16 (oneDNN) matrix products at the
shakespeare-char training step's shapes, one thread: what `--cpu-matmul
auto` is decided by (models/projection.h, docs/perf/training-cpu.md).

For 384 tokens (one rank's batch of 6 x 64) it times the forward product
and both backward products (dx, dw) of the layer's projections (q/k/v
together, o, gate/up together, down) and of a 200-row output head, and
prints their sum per dtype. Run it with ONEDNN_MAX_CPU_ISA set
(AVX512_CORE_BF16, AVX512_CORE) to see a CPU without AMX on one that has it.

usage: ONEDNN_MAX_CPU_ISA=... /usr/bin/python3 bench/torch_mm_bf16.py
"""
import time

import torch

TOKENS = 384
SHAPES = [(384, 128), (128, 128), (704, 128), (128, 352), (200, 128)]  # (out, in)


def seconds(f, n=300):
    for _ in range(20):
        f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n


def main():
    torch.set_num_threads(1)
    for dtype in (torch.float32, torch.bfloat16):
        total = 0.0
        for out, inp in SHAPES:
            x = torch.randn(TOKENS, inp).to(dtype)
            w = torch.randn(out, inp).to(dtype)
            g = torch.randn(TOKENS, out).to(dtype)
            times = [seconds(lambda: x @ w.t()), seconds(lambda: g @ w), seconds(lambda: g.t() @ x)]
            total += sum(times)
            print(f"{dtype} out {out} in {inp}: forward {times[0] * 1e3:.3f}, dx {times[1] * 1e3:.3f}, "
                  f"dw {times[2] * 1e3:.3f} ms")
        print(f"{dtype}: {total * 1e3:.2f} ms for all of them")


if __name__ == "__main__":
    main()
