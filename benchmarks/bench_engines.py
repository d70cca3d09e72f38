"""Generated tokens/s of the chat engines (Hugging Face vs vLLM) with 1 and 8 requests in flight.

    python benchmarks/bench_engines.py --backend huggingface            # the tiny test model (CPU)
    python benchmarks/bench_engines.py --backend vllm
    python benchmarks/bench_engines.py --backend vllm --model small --requests 32 --max-tokens 64
    python benchmarks/bench_engines.py --backend vllm --model Qwen/Qwen3-0.6B   # any model folder or hub id

Run it in an environment with vLLM (the CI's .venv-vllm) so that both engines use the same torch and
transformers. Requests go to the engine the way `lmforge api` sends them (`generate_prompts`, one request
per call, from a pool of `concurrency` threads): for the HF engine concurrent requests are separate
`generate` calls that share the CPU/GPU; vLLM batches whatever is in flight. Greedy, `--max-tokens` new tokens
per request (a random model never writes eos), distinct prompts, one warm-up request per level; tokens are
counted from the replies.

Models (random weights, the real Qwen3 tokenizer from tests/fixtures): `tiny` is the vLLM tests' model (2
layers, hidden 32, head_dim 32: all per-token overhead); `small` is Qwen3-shaped at 4 layers, hidden 512,
8 heads of 64, 151,669-token vocabulary (~100M parameters, float32 on the CPU).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SMALL = dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=4, num_attention_heads=8,
             num_key_value_heads=4, head_dim=64, max_position_embeddings=4096, tie_word_embeddings=True)


def model_path(name: str) -> str:
    sys.path.insert(0, str(REPO / "tests"))
    from fixtures.models import TOKENIZERS, tiny_model_path

    if name == "tiny":
        return str(tiny_model_path("qwen3-hd32"))
    if name != "small":
        return name
    out = REPO / "tests" / ".cache" / "models" / "bench-qwen3-small"
    if not (out / "model.safetensors").exists():
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config

        tokenizer = AutoTokenizer.from_pretrained(TOKENIZERS / "qwen3")
        config = Qwen3Config(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id, **SMALL)
        torch.manual_seed(0)
        AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(out)
        tokenizer.save_pretrained(out)
    return str(out)


def load(backend: str, model: str, max_tokens: int):
    from lmforge.config import load_config
    from lmforge.infer.engine import load_engine

    keys = {"model_name_or_path": model, "do_sample": False, "max_new_tokens": max_tokens, "infer_backend": backend}
    if backend == "vllm":
        keys.update(vllm_maxlen=1024, vllm_enforce_eager=True)
        if not _cuda():  # the CPU backend: an explicit KV cache (a container may misreport the memory node)
            keys["vllm_config"] = {"kv_cache_memory_bytes": 1 << 30}
    return load_engine(load_config(keys, command="api"))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def run_level(engine, concurrency: int, requests: int) -> tuple[float, int]:
    """(seconds, generated tokens) for `requests` requests, `concurrency` in flight."""
    settings = engine.settings({})
    prompts = [engine.prompt([{"role": "user", "content": f"Question {i}: why is the sky blue during the day?"}])
               for i in range(requests + 1)]

    def one(prompt: str) -> int:
        return engine.generate_prompts([prompt], settings)[0][0].completion_tokens

    one(prompts[-1])  # warm-up
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        tokens = sum(pool.map(one, prompts[:requests]))
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["huggingface", "vllm"], required=True)
    parser.add_argument("--model", default="tiny", help="tiny | small | a model folder or hub id")
    parser.add_argument("--requests", type=int, default=32, help="requests per level")
    parser.add_argument("--max-tokens", type=int, default=64, help="new tokens per request")
    parser.add_argument("--concurrency", default="1,8", help="requests in flight, comma separated")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    model = model_path(args.model)
    engine = load(args.backend, model, args.max_tokens)
    try:
        print(f"\nmodel {args.model}; {args.backend}; {args.requests} requests of {args.max_tokens} new tokens; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        print("| backend | model | concurrency | requests/s | generated tokens/s |")
        print("| --- | --- | ---: | ---: | ---: |")
        for level in (int(c) for c in args.concurrency.split(",")):
            seconds, tokens = run_level(engine, level, args.requests)
            print(f"| {args.backend} | {args.model} | {level} | {args.requests / seconds:.2f} | "
                  f"{tokens / seconds:.1f} |", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        engine.close()


if __name__ == "__main__":
    main()
