"""Data pipeline throughput: rows/s of reading + encoding 20,000 generated SFT rows, 1 and 2 workers.

    python benchmarks/bench_data.py                   # qwen3 template, 20,000 rows, workers 1 and 2
    python benchmarks/bench_data.py --template none   # the tokenizer's own chat_template (jinja path)
    python benchmarks/bench_data.py --rows 5000 --workers 1,2,4

Rows are generated here (seeded): a mix of single-turn alpaca rows, alpaca rows with history and sharegpt
rows with a tool call, written to a temporary dataset_dir with its own dataset_info.json. Each timed run
uses overwrite_cache so every row is converted and tokenized again; the Arrow files of the raw JSON are
built once before timing. The tokenizer is the qwen3 fixture in tests/fixtures/tokenizers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOKENIZER = REPO / "tests" / "fixtures" / "tokenizers" / "qwen3"
_TEXT = ("the model reads a question and writes an answer that is short clear and correct about numbers "
         "cities rivers languages history science music weather travel food code tests data")
WORDS = _TEXT.split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_rows(n: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    alpaca, sharegpt = [], []
    for i in range(n):
        if i % 4 == 3:
            call = {"name": "lookup", "arguments": {"query": sentence(rng, 3)}}
            sharegpt.append({"conversations": [
                {"from": "human", "value": sentence(rng, rng.randint(8, 40))},
                {"from": "function_call", "value": json.dumps(call)},
                {"from": "observation", "value": json.dumps({"result": sentence(rng, 10)})},
                {"from": "gpt", "value": sentence(rng, rng.randint(20, 120))}],
                "tools": json.dumps([{"name": "lookup", "description": "Search notes.", "parameters": {
                    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}])})
        else:
            row = {"instruction": sentence(rng, rng.randint(5, 40)), "input": "",
                   "output": sentence(rng, rng.randint(20, 200))}
            if i % 4 == 1:
                row["history"] = [[sentence(rng, 10), sentence(rng, 30)]]
            alpaca.append(row)
    return alpaca, sharegpt


def write_data(root: Path, n: int) -> None:
    alpaca, sharegpt = make_rows(n)
    for row in alpaca:
        row.setdefault("history", [])
    (root / "alpaca.json").write_text(json.dumps(alpaca))
    (root / "sharegpt.json").write_text(json.dumps(sharegpt))
    (root / "dataset_info.json").write_text(json.dumps({
        "bench_alpaca": {"file_name": "alpaca.json", "columns": {
            "prompt": "instruction", "query": "input", "response": "output", "history": "history"}},
        "bench_sharegpt": {"file_name": "sharegpt.json", "formatting": "sharegpt",
                           "columns": {"messages": "conversations", "tools": "tools"}}}))


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (datasets' worker processes)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run(root: Path, template_name: str | None, workers: int, overwrite: bool) -> tuple[float, float, object]:
    from transformers import AutoTokenizer

    from lmforge.config import load_config
    from lmforge.data.loader import load_datasets
    from lmforge.templates import get_template

    cfg = load_config({"model_name_or_path": str(TOKENIZER), "dataset": "bench_alpaca,bench_sharegpt",
                       "dataset_dir": str(root), "cutoff_len": 2048, "cache_dir": str(root / "cache"),
                       "output_dir": str(root / "out"), "overwrite_cache": overwrite,
                       "preprocessing_num_workers": workers}, command="preview")
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    template = get_template(template_name, tokenizer)
    start, cpu = time.perf_counter(), _cpu_seconds()
    splits = load_datasets(cfg, tokenizer, template, "sft")
    return time.perf_counter() - start, _cpu_seconds() - cpu, splits.stats.splits["train"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--template", default="qwen3", help="a registered template, or 'none' (jinja path)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per setting; the best is shown")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets

    datasets.disable_progress_bars()
    template = None if args.template.lower() == "none" else args.template
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_data(root, args.rows)
        run(root, template, 1, overwrite=False)  # builds the Arrow files of the raw JSON once
        load_before = os.getloadavg()[0]
        results = []
        for w in (int(x) for x in args.workers.split(",")):
            runs = [run(root, template, w, overwrite=True) for _ in range(args.repeats)]
            results.append((w, min(r[0] for r in runs), min(r[1] for r in runs)))
        *_, stats = run(root, template, 1, overwrite=False)
        cached = min(run(root, template, 1, overwrite=False)[0] for _ in range(args.repeats))
        load_after = os.getloadavg()[0]
    print(f"{args.rows} rows, template {args.template}, {stats.tokens} tokens ({stats.loss_tokens} with loss), "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")
    print(f"{'workers':>8} {'wall s':>8} {'rows/s':>8} {'speed-up':>9} {'CPU s':>8} {'rows/CPU s':>11}")
    base = results[0][1]
    for w, seconds, cpu in results:
        print(f"{w:>8} {seconds:>8.2f} {args.rows / seconds:>8.0f} {base / seconds:>8.2f}x {cpu:>8.2f} "
              f"{args.rows / cpu:>11.0f}")
    print(f"{'cached':>8} {cached:>8.2f} {args.rows / cached:>8.0f} {base / cached:>8.2f}x  (second run, same config)")


if __name__ == "__main__":
    main()
