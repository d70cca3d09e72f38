# ruff: noqa -- verbatim copy of ../shared/bench/make_bench_data.py (plus this line), so the benchmark travels with the repo
"""Synthetic SFT data for throughput benchmarks: alpaca rows whose lengths follow a realistic spread
(lognormal word counts, median ~370 Qwen tokens after the chat template, max ~1500), fixed seed.
Every system measured on this data does identical work, so their tokens/s compare directly.

usage: python make_bench_data.py OUT_DIR [ROWS=512]
writes OUT_DIR/bench_sft.json and OUT_DIR/dataset_info.json (dataset name: bench_sft)"""
import json, math, os, random, sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 512
rng = random.Random(1234)
words = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
         "you were her all she there would their we him been has when who will more no if out so said what up its about into "
         "than them can only other new some could time these two may then do first any my now such like our over man me even "
         "most made after also did many before must through back years where much your way well down should because each just "
         "model data train learn token value result system function network layer memory compute graph gradient").split()


def text(k):
    return " ".join(rng.choice(words) for _ in range(k))


rows = []
for _ in range(n):
    total = int(min(1500, max(24, math.exp(rng.gauss(5.9, 0.8)))))
    q = max(8, int(total * rng.uniform(0.2, 0.6)))
    rows.append({"instruction": text(q), "input": "", "output": text(total - q)})
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "bench_sft.json"), "w") as f:
    json.dump(rows, f)
with open(os.path.join(out, "dataset_info.json"), "w") as f:
    json.dump({"bench_sft": {"file_name": "bench_sft.json"}}, f)
print("rows", n, "mean words", sum(len((r["instruction"] + " " + r["output"]).split()) for r in rows) / n)
