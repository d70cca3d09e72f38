"""One-example causal attention at long-context lengths on the GPU: forward and forward+backward times of
the kernels lmforge's packed attention can use, and what the first call at a new length costs (cuDNN
builds a plan per shape; every row of the long benchmark has its own length).

    python benchmarks/bench_attention.py [--lengths 15000,15007,15300] [--heads 32 --kv-heads 8 --dim 128]

Qwen3-8B's attention shape by default. Prints one line per (kernel, length): first-call and steady
milliseconds for the forward and for forward+backward, and the steady TFLOP/s of each (causal: half the
full score matrix).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def timed(fn, repeat: int) -> tuple[float, float]:
    """(first call ms, mean of `repeat` later calls ms), synchronised."""
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    first = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    torch.cuda.synchronize()
    return first, (time.perf_counter() - t) * 1e3 / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="15000,15007,15300")
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=10)
    a = ap.parse_args()
    for length in (int(x) for x in a.lengths.split(",")):
        measure(a, length)


def measure(a, length: int) -> None:
    from torch.nn.attention.varlen import varlen_attn

    rep = a.heads // a.kv_heads
    q = torch.randn(1, a.heads, length, a.dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k, v = (torch.randn(1, a.kv_heads, length, a.dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            for _ in range(2))
    grad = torch.randn(1, a.heads, length, a.dim, device="cuda", dtype=torch.bfloat16)
    cu = torch.tensor([0, length], dtype=torch.int32, device="cuda")

    def sdpa(backend):
        def run():
            kk, vv = (x.repeat_interleave(rep, dim=1) for x in (k, v))
            with sdpa_kernel([backend]):
                return F.scaled_dot_product_attention(q, kk, vv, is_causal=True)
        return run

    def varlen():
        kk, vv = (x.repeat_interleave(rep, dim=1)[0].transpose(0, 1) for x in (k, v))
        return varlen_attn(q[0].transpose(0, 1), kk, vv, cu, cu, length, length).transpose(0, 1)[None]

    flop = 4 * length * length / 2 * a.dim * a.heads  # two matmuls, causal half
    for name, run in (("cudnn", sdpa(SDPBackend.CUDNN_ATTENTION)), ("flash", sdpa(SDPBackend.FLASH_ATTENTION)),
                      ("varlen", varlen)):
        with torch.no_grad():
            f_first, f_ms = timed(run, a.repeat)
        b_first, b_ms = timed(lambda run=run: run().backward(grad), a.repeat)
        print(f"ATTN {name:7} T={length:6}  fwd first {f_first:8.1f} ms steady {f_ms:7.2f} ms "
              f"({flop / f_ms / 1e9:5.0f} TFLOP/s)   fwd+bwd first {b_first:8.1f} ms steady {b_ms:7.2f} ms "
              f"({3.5 * flop / b_ms / 1e9:5.0f} TFLOP/s)", flush=True)

if __name__ == "__main__":
    main()
