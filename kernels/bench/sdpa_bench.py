"""Baseline for the attention benchmark: torch's scaled_dot_product_attention.

Same grid and counting as kernels/bench/attention_bench.cc (bf16, [B, H, T, D],
B*T = 16384 tokens, H*D = 2048). For each shape it times every SDPA backend
that runs (flash, efficient, cudnn, and the default choice), forward and
forward+backward, median of 20 timed runs after 3 warm-ups, with CUDA events.
CSV on stdout: backend,pass,batch,heads,seq,head_dim,causal,ms,tflops
"""
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {
    "default": None,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
}


def median_ms(fn, warmup=3, reps=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def main():
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name()}", file=sys.stderr)
    print("backend,pass,batch,heads,seq,head_dim,causal,ms,tflops")
    tokens = 16384
    for d in (64, 128):
        h = 2048 // d
        for t in (512, 1024, 2048, 4096, 8192, 16384):
            b = tokens // t
            q, k, v = (torch.randn(b, h, t, d, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
            grad = torch.randn(b, h, t, d, device="cuda", dtype=torch.bfloat16)
            for causal in (False, True):
                flops = 4.0 * b * h * t * t * d * (0.5 if causal else 1.0)
                for name, backend in BACKENDS.items():
                    def fwd():
                        with torch.no_grad():
                            if backend is None:
                                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                            with sdpa_kernel([backend]):
                                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                    def fwd_bwd():
                        if backend is None:
                            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        else:
                            with sdpa_kernel([backend]):
                                out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        out.backward(grad)

                    try:
                        ms = median_ms(fwd)
                        print(f"{name},forward,{b},{h},{t},{d},{int(causal)},{ms:.4f},{flops / ms / 1e9:.1f}")
                        ms = median_ms(fwd_bwd)
                        # backward does 2.5x the forward's matmul work
                        print(f"{name},forward+backward,{b},{h},{t},{d},{int(causal)},{ms:.4f},{3.5 * flops / ms / 1e9:.1f}")
                    except RuntimeError as e:
                        print(f"# {name} d={d} t={t} causal={causal}: {str(e).splitlines()[0]}", file=sys.stderr)
                    sys.stdout.flush()
            del q, k, v, grad
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
