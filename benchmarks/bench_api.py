"""API server throughput: requests/s and generated tokens/s at client concurrency 1 and 8.

    python benchmarks/bench_api.py                          # tiny Qwen3 test model, 48 requests per level
    python benchmarks/bench_api.py --requests 96 --max-tokens 64 --concurrency 1,4,8 --max-concurrent 8
    python benchmarks/bench_api.py --model Qwen/Qwen3-0.6B --stream
    python benchmarks/bench_api.py --shape qwen3-0.6b       # Qwen3-0.6B-shaped, random weights (no download)
    python benchmarks/bench_api.py --torch-threads 1         # one intra-op thread per generation

The server is the real `lmforge api` app (engine, FastAPI, uvicorn) started in this process on a free
127.0.0.1 port; requests go through the official openai client over HTTP, greedy, `--max-tokens` new tokens
each (a random model never writes eos, so every request generates exactly that many). Each level runs one
warm-up request first. Tokens are counted from the responses' usage. With --stream, the mean time to the
first content chunk is reported as well.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROMPT = [{"role": "user", "content": "Explain in a few sentences why the sky is blue during the day."}]


def tiny_model() -> str:
    sys.path.insert(0, str(REPO / "tests"))
    from fixtures.models import tiny_model_path

    return str(tiny_model_path("qwen3"))


# Qwen3-0.6B's sizes (its config.json); random weights, bf16, the real Qwen3 tokenizer
QWEN3_0_6B = dict(hidden_size=1024, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8, head_dim=128,
                  intermediate_size=3072, vocab_size=151936, max_position_embeddings=40960, rope_theta=1000000.0,
                  rms_norm_eps=1e-6, tie_word_embeddings=True)


def shaped_model(out: Path) -> str:
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(REPO / "tests" / "fixtures" / "tokenizers" / "qwen3")
    config = Qwen3Config(**QWEN3_0_6B, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def start_server(model: str, max_concurrent: int):
    import uvicorn

    from lmforge.config import load_config
    from lmforge.infer.api import create_app
    from lmforge.infer.engine import load_engine

    engine = load_engine(load_config({"model_name_or_path": model, "do_sample": False}, command="api"))
    app = create_app(engine, model_name="bench", max_concurrent=max_concurrent)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}/v1"


def one_request(client, max_tokens: int, stream: bool) -> tuple[int, float | None]:
    """(completion tokens, seconds to the first content chunk or None)."""
    if not stream:
        out = client.chat.completions.create(model="bench", messages=PROMPT, max_tokens=max_tokens, temperature=0)
        return out.usage.completion_tokens, None
    start, first, tokens = time.perf_counter(), None, 0
    for chunk in client.chat.completions.create(model="bench", messages=PROMPT, max_tokens=max_tokens,
                                                temperature=0, stream=True, stream_options={"include_usage": True}):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return tokens, first


def run_level(client, concurrency: int, requests: int, max_tokens: int, stream: bool) -> dict:
    one_request(client, max_tokens, stream)  # warm-up
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: one_request(client, max_tokens, stream), range(requests)))
    seconds = time.perf_counter() - start
    tokens = sum(t for t, _ in results)
    row = {"concurrency": concurrency, "requests": requests, "seconds": seconds,
           "requests_per_s": requests / seconds, "tokens_per_s": tokens / seconds}
    if stream:
        row["ttft_ms"] = 1000 * statistics.mean(f for _, f in results if f is not None)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder or hub id (default: the tiny test Qwen3)")
    parser.add_argument("--shape", choices=["qwen3-0.6b"], default=None,
                        help="build a randomly initialised model of these sizes instead of --model")
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    parser.add_argument("--max-tokens", type=int, default=32, help="new tokens per request")
    parser.add_argument("--concurrency", default="1,8", help="client concurrency levels, comma separated")
    parser.add_argument("--max-concurrent", type=int, default=8, help="the server's MAX_CONCURRENT")
    parser.add_argument("--stream", action="store_true", help="stream the responses (adds time to first token)")
    parser.add_argument("--torch-threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import openai
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    if args.shape:
        import tempfile

        model = shaped_model(Path(tempfile.mkdtemp(prefix="lmforge-bench-api-")) / args.shape)
    else:
        model = args.model or tiny_model()
    server, url = start_server(model, args.max_concurrent)
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    print(f"device {device}; model {model}; server MAX_CONCURRENT={args.max_concurrent}; {args.max_tokens} new tokens per request; "
          f"stream={args.stream}; torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs")
    print(f"{'concurrency':>11} {'requests':>8} {'seconds':>8} {'requests/s':>10} {'tokens/s':>9}"
          + (f" {'TTFT ms':>8}" if args.stream else ""))
    for level in (int(c) for c in args.concurrency.split(",")):
        row = run_level(client, level, args.requests, args.max_tokens, args.stream)
        print(f"{row['concurrency']:>11} {row['requests']:>8} {row['seconds']:>8.2f} {row['requests_per_s']:>10.2f} "
              f"{row['tokens_per_s']:>9.1f}" + (f" {row['ttft_ms']:>8.1f}" if args.stream else ""))
    server.should_exit = True


if __name__ == "__main__":
    main()
