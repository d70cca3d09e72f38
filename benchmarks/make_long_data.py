# ruff: noqa -- verbatim copy of ../shared/bench/make_long_data.py (plus this line), so the benchmark travels with the repo
"""Long-context SFT rows (about 15.3k Qwen tokens each with the qwen3 template) for the long-context benchmark.
usage: python make_long_data.py OUT_DIR [ROWS=16]; writes OUT_DIR/bench_sft.json and dataset_info.json (dataset bench_sft)"""
import json, os, random, sys
out = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
rng = random.Random(99)
words = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_bench_data.py")).read().split('words = ("')[1].split('").split()')[0].replace('"\n         "', "").split()
text = lambda k: " ".join(rng.choice(words) for _ in range(k))
rows = [{"instruction": text(5000), "input": "", "output": text(10300)} for _ in range(n)]
os.makedirs(out, exist_ok=True)
json.dump(rows, open(f"{out}/bench_sft.json", "w"))
json.dump({"bench_sft": {"file_name": "bench_sft.json"}}, open(f"{out}/dataset_info.json", "w"))
print("long rows", n)
