#!/usr/bin/env bash
# What ran on the lent H200 (docs/benchmarks.md records each call's output). From the repo root:
#   bash benchmarks/run_h200.sh env tests "bench:packed_liger::--max-steps 10" ...
# Each bench item is "bench:PRESET:NAME:ARGS" (ARGS: bench_train.py options and key=value overrides).
# The GPU image lacks liger-kernel: its wheel travels in .whl/ (pip --target, no network there).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD/src || exit 1
else
  export PYTHONPATH=$PWD/src
fi

for item in "$@"; do
  case "$item" in
    env)
      nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
      python3 - <<'EOF'
import inspect, torch, transformers, peft, triton
print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__,
      "triton", triton.__version__)
try:
    from torch.nn.attention.varlen import varlen_attn
    print("varlen_attn", inspect.signature(varlen_attn))
except Exception as e:
    print("no varlen_attn:", e)
import importlib.util
for m in ("flash_attn", "liger_kernel", "datasets"):
    print(m, importlib.util.find_spec(m) is not None)
EOF
      ;;
    tests)
      python3 -m pytest -q -p no:cacheprovider tests/models 2>&1 | tail -15
      ;;
    pcie)  # host <-> GPU copy bandwidth, pinned and pageable (what activation offload moves)
      python3 - <<'EOF'
import time, torch
n = 128 << 20
gpu = torch.empty(n, dtype=torch.uint8, device="cuda")
for pinned in (True, False):
    host = torch.empty(n, dtype=torch.uint8, pin_memory=pinned)
    for name, dst, src in (("D2H", host, gpu), ("H2D", gpu, host)):
        dst.copy_(src, non_blocking=pinned); torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(10):
            dst.copy_(src, non_blocking=pinned)
        torch.cuda.synchronize()
        print(f"{name} {'pinned' if pinned else 'pageable'}: {10 * n / (time.perf_counter() - t) / 1e9:.1f} GB/s")
t = time.perf_counter(); torch.empty(4 << 30, dtype=torch.uint8, pin_memory=True); torch.cuda.synchronize()
print(f"pinning 4 GiB: {time.perf_counter() - t:.2f} s")
EOF
      ;;
    attn:*)  # attn:ARGS -> benchmarks/bench_attention.py ARGS
      # shellcheck disable=SC2086
      timeout 300 python3 benchmarks/bench_attention.py ${item#attn:} 2>&1 | grep -E "ATTN|Error" | tail -12
      ;;
    api:*)  # api:ARGS -> benchmarks/bench_api.py ARGS
      # shellcheck disable=SC2086
      timeout 400 python3 benchmarks/bench_api.py ${item#api:} 2>&1 | grep -v Warning | tail -8
      ;;
    bench:*)
      IFS=: read -r _ preset name args <<<"$item"
      args=${args//\$OUT/$OUT}  # e.g. "--memory-snapshot $OUT/snap.pickle" (files under $OUT come back)
      echo "=== $preset $name $args"
      # shellcheck disable=SC2086
      timeout 560 python3 benchmarks/bench_train.py "$preset" --name "$name" --json "$OUT/results.jsonl" $args \
        >"$OUT/$name.log" 2>&1
      echo "rc=$?"; grep -E "RESULT|Error|error:|memory" "$OUT/$name.log" | tail -4
      grep -E "^PROFILE|^MEMORY" "$OUT/$name.log" | head -50
      ;;
  esac
done
if [ -f "$OUT/results.jsonl" ]; then
  python3 - "$OUT/results.jsonl" <<'EOF'
import json, sys
print(f"{'name':24} {'steps':>5} {'tokens':>8} {'tok/s':>8} {'steady':>8} {'smi GiB':>8} {'alloc':>6} {'gc':>3}")
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"{r['name']:24} {r['steps']:>5} {r['real_tokens']:>8} {r['tokens_per_s']:>8} {r['steady_tokens_per_s'] or 0:>8}"
          f" {r['peak_nvidia_smi_gib']:>8} {r['max_allocated_gib']:>6} {int(r['gradient_checkpointing']):>3}")
EOF
fi
