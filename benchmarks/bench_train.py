"""Training throughput and peak GPU memory of lmforge on the headline workload (docs/benchmarks.md).

    python benchmarks/bench_train.py PRESET [key=value ...] [--max-steps N] [--json OUT.jsonl]

Workload: LoRA SFT (rank 8, all linear layers, lr 1e-4, 1 epoch, bf16) of a Qwen3-8B-shaped model with
random weights (built on the GPU from a Qwen3Config with the 8B sizes; no download), qwen3 template,
on the 512 rows of make_bench_data.py (241,668 real tokens at cutoff 2048), or with `--data long` the 16
rows of make_long_data.py at cutoff 16384 (245,024 tokens). `--model 1.7b` / `--model 0.6b` use the Qwen3-1.7B
/ 0.6B sizes instead; `--model tiny` runs the same code path on a two-layer model (a CPU smoke test).
`--stage dpo` trains LoRA DPO on the same rows made pairs (make_dpo_data; packing=true: padding-free pairs).

What runs is lmforge's own training path: load_model (attention backend, Liger, gradient checkpointing
plan), apply_finetuning (LoRA), data/packing.py, the collators and LmforgeTrainer with its loss. One
thing differs from `lmforge train`: rows are read and encoded here with lmforge's formats/encoding
functions directly instead of through `datasets` (not installed on the GPU image); the encoded examples
are the same (the token total is asserted).

Reported per run: real tokens (padding excluded) / train_runtime (the whole run, first steps included),
the steady rate after the first 3 optimizer steps, and peak memory: nvidia-smi's memory.used sampled every
0.3 s (how the reference figures were taken), plus torch's max allocated/reserved.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

QWEN3_8B = dict(hidden_size=4096, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                intermediate_size=12288, vocab_size=151936, max_position_embeddings=40960, rope_theta=1000000.0,
                rms_norm_eps=1e-6, tie_word_embeddings=False)
# Qwen3-0.6B / 1.7B sizes (their config.json): tied input/output embeddings
QWEN3_1_7B = dict(QWEN3_8B, hidden_size=2048, num_hidden_layers=28, num_attention_heads=16, intermediate_size=6144,
                  tie_word_embeddings=True)
QWEN3_0_6B = dict(QWEN3_8B, hidden_size=1024, num_hidden_layers=28, num_attention_heads=16, intermediate_size=3072,
                  tie_word_embeddings=True)
TINY = dict(QWEN3_8B, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=128)

SHAPES = {"8b": QWEN3_8B, "1.7b": QWEN3_1_7B, "0.6b": QWEN3_0_6B, "tiny": TINY}

COMMON = ["stage=sft", "finetuning_type=lora", "lora_rank=8", "lora_target=all", "lora_dropout=0",
          "learning_rate=1e-4", "num_train_epochs=1", "bf16=true", "template=qwen3", "save_strategy=no",
          "report_to=none", "logging_steps=5", "dataloader_drop_last=false", "train_from_scratch=true",
          "gradient_accumulation_steps=1", "seed=42"]

PRESETS = {
    # LLaMA-Factory's defaults on this workload: padded batches of 4, gradient checkpointing
    "padded": ["packing=false", "per_device_train_batch_size=4", "disable_gradient_checkpointing=false"],
    # padding-free packing, per-example attention, no checkpointing
    "packed": ["packing=true", "per_device_train_batch_size=4", "disable_gradient_checkpointing=true"],
    "packed_liger": ["packing=true", "per_device_train_batch_size=4", "disable_gradient_checkpointing=true",
                     "enable_liger_kernel=true"],
    # small memory: checkpointing with the saved layer inputs in CPU memory, the input table on the CPU, Liger
    "lean": ["packing=true", "per_device_train_batch_size=4", "use_unsloth_gc=true", "offload_embedding=true",
             "enable_liger_kernel=true"],
    "long": ["packing=true", "per_device_train_batch_size=1", "use_unsloth_gc=true", "offload_embedding=true",
             "enable_liger_kernel=true", "cutoff_len=16384"],
}


class MemorySampler:
    """Largest nvidia-smi memory.used (MiB) of GPU 0, sampled every 0.3 s."""

    def __init__(self):
        self.peak_mib = 0
        self._proc = None
        if shutil.which("nvidia-smi"):
            self._proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0", "-lms", "300"],
                stdout=subprocess.PIPE, text=True)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self._proc.stdout:
            with contextlib.suppress(ValueError):
                self.peak_mib = max(self.peak_mib, int(line.strip()))

    def stop(self) -> int:
        if self._proc:
            time.sleep(0.7)
            self._proc.terminate()
        return self.peak_mib


def make_data(kind: str, tmp: Path) -> Path:
    script = HERE / ("make_long_data.py" if kind == "long" else "make_bench_data.py")
    out = tmp / f"data-{kind}"
    subprocess.run([sys.executable, str(script), str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


def make_model_dir(tmp: Path, sizes: dict) -> Path:
    from transformers import AutoTokenizer, Qwen3Config

    out = tmp / "qwen3-8b-shaped"
    tokenizer = AutoTokenizer.from_pretrained(REPO / "tests" / "fixtures" / "tokenizers" / "qwen3")
    Qwen3Config(**sizes, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def make_dpo_data(data_dir: Path) -> None:
    """bench_dpo: the bench rows as preference pairs (alpaca ranking format). Row i keeps its prompt and reply
    (chosen) and takes row i+1's reply as the rejected one, so both replies follow the data's length spread."""
    rows = json.loads((data_dir / "bench_sft.json").read_text())
    pairs = [{"instruction": r["instruction"], "input": r["input"], "chosen": r["output"],
              "rejected": rows[(i + 1) % len(rows)]["output"]} for i, r in enumerate(rows)]
    (data_dir / "bench_dpo.json").write_text(json.dumps(pairs))
    info = json.loads((data_dir / "dataset_info.json").read_text())
    info["bench_dpo"] = {"file_name": "bench_dpo.json", "ranking": True,
                         "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen",
                                     "rejected": "rejected"}}
    (data_dir / "dataset_info.json").write_text(json.dumps(info))


def encode_rows(cfg, tokenizer, data_dir: Path) -> list[dict]:
    """lmforge's registry -> formats -> encoding, without `datasets`."""
    from lmforge.data import encoding, formats
    from lmforge.data.registry import get_dataset_specs
    from lmforge.templates import get_template

    template = get_template(cfg.data.template, tokenizer)
    (spec,) = get_dataset_specs(cfg.data.dataset, str(data_dir))
    rows = json.loads(Path(spec.path).read_text())
    out = []
    for row in rows:
        conv = formats.row_to_conversation(row, spec)
        if cfg.finetuning.stage == "dpo":
            out.append(encoding.encode_pairwise(conv, template, tokenizer, cutoff_len=cfg.data.cutoff_len,
                                                enable_thinking=cfg.data.enable_thinking))
            continue
        enc = encoding.encode_supervised(conv, template, tokenizer, cutoff_len=cfg.data.cutoff_len,
                                         enable_thinking=cfg.data.enable_thinking)
        out.append({"input_ids": enc["input_ids"], "labels": enc["labels"]})
    return out


def row_tokens(feature: dict) -> int:
    """Real tokens of one example or pair."""
    if "chosen_input_ids" in feature:
        return len(feature["chosen_input_ids"]) + len(feature["rejected_input_ids"])
    return len(feature["input_ids"])


class Counting:
    """Wraps a collator and counts the real tokens of every batch it builds."""

    def __init__(self, collator):
        self.collator, self.tokens = collator, []

    def __call__(self, features):
        self.tokens.append(sum(row_tokens(f) for f in features))
        return self.collator(features)


def print_profile(prof, steps: int) -> None:
    """GPU time per kernel (self time, summed over the profiled steps, per step) and the GPU's busy share."""
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    events.sort(key=lambda e: -e.self_device_time_total)
    busy = sum(e.self_device_time_total for e in events) / 1e6 / steps
    print(f"PROFILE GPU busy {busy:.3f} s per step (kernels and copies, summed; streams may overlap)")
    for e in events[:30]:
        print(f"PROFILE {e.self_device_time_total / 1e6 / steps:8.4f} s {e.count // steps:6d}x  {e.key[:110]}")
    cpu = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    for e in cpu[:12]:
        print(f"PROFILE cpu {e.self_cpu_time_total / 1e6 / steps:8.4f} s {e.count // steps:6d}x  {e.key[:100]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", choices=sorted(PRESETS))
    ap.add_argument("overrides", nargs="*", help="lmforge config keys, key=value")
    ap.add_argument("--data", choices=["bench", "long"], default=None, help="default: long for preset long")
    ap.add_argument("--model", choices=sorted(SHAPES), default="8b")
    ap.add_argument("--stage", choices=["sft", "dpo"], default="sft",
                    help="dpo: LoRA DPO (sigmoid, the policy with its adapter off as reference) on the bench rows "
                         "as pairs (row i's reply chosen, row i+1's rejected); packing=true makes it padding-free")
    ap.add_argument("--max-steps", type=int, default=None, help="stop early (sweeps); default: 1 epoch")
    ap.add_argument("--no-prefetch", action="store_true",
                    help="activation offload brings each saved tensor back only when backward needs it")
    ap.add_argument("--in-flight", type=int, default=4, metavar="N",
                    help="activation offload: device -> host copies queued before the CPU waits (0: no limit)")
    ap.add_argument("--varlen-only", action="store_true",
                    help="rows holding one example use the varlen kernel too, not causal SDPA (cuDNN first)")
    ap.add_argument("--peft-lora", action="store_true",
                    help="LoRA layers run PEFT's own forward (no scaling at rank, no fused node)")
    ap.add_argument("--no-fused-lora", action="store_true",
                    help="LoRA layers apply their scaling at rank but run as PEFT's modules, not one fused node")
    ap.add_argument("--memory-trace", nargs="?", const="", default=None, metavar="PICKLE",
                    help="record the CUDA allocator's history over the run and print what its reserve holds at "
                         "its peak (benchmarks/memory_trace.py); with PICKLE, also dump the snapshot there "
                         "(https://pytorch.org/memory_viz opens it)")
    ap.add_argument("--step-times", action="store_true",
                    help="synchronise at every step end and report each step's seconds (step_s)")
    ap.add_argument("--profile", type=int, default=None, metavar="STEP",
                    help="profile optimizer steps STEP and STEP+1 (torch.profiler): GPU time per kernel, printed")
    ap.add_argument("--name", default=None)
    ap.add_argument("--json", default=None, help="append the result as one JSON line here")
    a = ap.parse_intermixed_args()
    data_kind = a.data or ("long" if a.preset == "long" else "bench")

    import memory_trace  # beside this script
    import torch
    from transformers import TrainerCallback

    from lmforge.config import load_config, parse_argv
    from lmforge.data.packing import pack_examples
    from lmforge.models.adapters import apply_finetuning
    from lmforge.models.loader import load_model, load_tokenizer
    from lmforge.models.memory import offload_input_embedding
    from lmforge.train.collators import (
        PackedCollator,
        PackedPairwiseCollator,
        PaddingCollator,
        PairwiseCollator,
    )
    from lmforge.train.preference import DPOTrainer
    from lmforge.train.trainer import LmforgeTrainer

    if a.varlen_only:
        import lmforge.models.attention as attention

        attention.SINGLE_SEQUENCE_SDPA = False
    if a.peft_lora or a.no_fused_lora:
        import lmforge.models.kernels as kernels

        kernels.LEAN_LORA = not a.peft_lora
        kernels.FUSED_LORA = not (a.peft_lora or a.no_fused_lora)
    cuda = torch.cuda.is_available()
    tmp = Path(tempfile.mkdtemp(prefix="lmforge-bench-"))
    data_dir = make_data(data_kind, tmp)
    model_dir = make_model_dir(tmp, SHAPES[a.model])
    if a.stage == "dpo":
        make_dpo_data(data_dir)
    argv = [f"model_name_or_path={model_dir}", f"dataset_dir={data_dir}", f"dataset=bench_{a.stage}",
            f"output_dir={tmp / 'out'}", "cutoff_len=2048", *COMMON, f"stage={a.stage}", *PRESETS[a.preset],
            *a.overrides]
    if a.max_steps:
        argv.append(f"max_steps={a.max_steps}")
    if not cuda:
        argv += ["bf16=false", "use_cpu=true", "enable_liger_kernel=false"]
    cfg = load_config(parse_argv(argv))
    tokenizer = load_tokenizer(cfg.model)

    examples = encode_rows(cfg, tokenizer, data_dir)
    total_tokens = sum(row_tokens(e) for e in examples)
    expected = {"bench": 241_668, "long": 245_024}[data_kind]
    if a.stage == "sft" and a.model != "tiny" and total_tokens != expected:
        raise SystemExit(f"encoded {total_tokens} tokens, expected {expected}: the encoding changed")
    packed = bool(cfg.data.packing)
    if a.stage == "dpo":
        train = examples
        collator = Counting(PackedPairwiseCollator() if packed else
                            PairwiseCollator(tokenizer.pad_token_id, pad_to_multiple_of=8))
    elif packed:
        cols = pack_examples([e["input_ids"] for e in examples], [e["labels"] for e in examples],
                             cfg.data.cutoff_len)
        train = [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]
        collator = Counting(PackedCollator())
    else:
        train = examples
        collator = Counting(PaddingCollator(tokenizer.pad_token_id, pad_to_multiple_of=8))

    t0 = time.perf_counter()
    with torch.device("cuda" if cuda else "cpu"):  # random init directly on the GPU
        model = load_model(cfg, tokenizer, packed=packed)
    model = apply_finetuning(model, cfg)
    if cfg.model.offload_embedding:
        # `lmforge train` loads on the CPU, so the table never reaches the GPU; here the random build made it
        # there: move it off and give its memory back before measuring
        offload_input_embedding(model)
        if cuda:
            torch.cuda.empty_cache()
    build_s = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sampler = MemorySampler() if cuda else None  # peaks of training, from here on

    marks: dict[str, float] = {}
    step_ends: list[float] = []
    profiler: list = []

    tracing = a.memory_trace is not None and cuda
    if tracing:
        torch.cuda.memory._record_memory_history(max_entries=2_000_000, context="alloc", stacks="python")

    class Steady(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            if a.profile is not None and state.global_step + 1 == a.profile:
                profiler.append(torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                                   torch.profiler.ProfilerActivity.CUDA]))
                profiler[0].__enter__()

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3 or a.step_times:
                if cuda:
                    torch.cuda.synchronize()
                now = time.perf_counter()
                step_ends.append(now)
                if state.global_step == 3:
                    marks["t3"] = now
            if tracing and state.global_step <= memory_trace.MAX_MARKED_STEP:  # a step boundary in the trace
                torch.empty(memory_trace.marker_bytes(state.global_step), dtype=torch.uint8, device="cuda")
            if profiler and a.profile is not None and state.global_step == a.profile + 1:
                if cuda:
                    torch.cuda.synchronize()
                profiler[0].__exit__(None, None, None)
                print_profile(profiler[0], steps=2)

    trainer_cls = DPOTrainer if a.stage == "dpo" else LmforgeTrainer
    trainer = trainer_cls(model=model, args=cfg.training, train_dataset=train, data_collator=collator,
                             processing_class=tokenizer, lmforge_config=cfg, callbacks=[Steady()],
                             offload_activations=cfg.model.use_unsloth_gc and {"prefetch": not a.no_prefetch,
                                                                       "max_in_flight": a.in_flight or None})
    t1 = time.perf_counter()
    step_ends.append(t1)
    metrics = trainer.train().metrics
    if cuda:
        torch.cuda.synchronize()
    t_end = time.perf_counter()
    if tracing:
        snapshot = torch.cuda.memory._snapshot()
        torch.cuda.memory._record_memory_history(enabled=None)
        if a.memory_trace:
            with open(a.memory_trace, "wb") as fh:
                pickle.dump(snapshot, fh)
        print("\n".join(memory_trace.report(snapshot)), flush=True)
    # the trainer may fetch a batch ahead: count the batches its steps consumed, in order
    per_step = cfg.training.gradient_accumulation_steps
    tokens = sum(collator.tokens[: trainer.state.global_step * per_step])
    marks["tok3"] = sum(collator.tokens[: 3 * per_step])
    peak_mib = sampler.stop() if sampler else 0
    offloader = trainer._offloader
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    result = {
        "name": a.name or a.preset, "preset": a.preset, "overrides": a.overrides, "data": data_kind,
        "stage": a.stage,
        "model": a.model, "rows": len(train), "steps": trainer.state.global_step, "real_tokens": tokens,
        "train_runtime_s": round(metrics["train_runtime"], 2),
        "tokens_per_s": round(tokens / metrics["train_runtime"], 1),
        "steady_tokens_per_s": (round((tokens - marks["tok3"]) / (t_end - marks["t3"]), 1)
                                if "t3" in marks and t_end > marks["t3"] else None),
        "peak_nvidia_smi_gib": round(peak_mib / 1024, 2),
        "max_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "max_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2) if cuda else None,
        "gradient_checkpointing": bool(getattr(model, "is_gradient_checkpointing", False)),
        "attn_implementation": model.config._attn_implementation, "liger": cfg.model.enable_liger_kernel,
        "offload": cfg.model.use_unsloth_gc, "offload_embedding": cfg.model.offload_embedding,
        "single_sdpa": not a.varlen_only, "prefetch": not a.no_prefetch, "in_flight": a.in_flight, "lean_lora": not a.peft_lora,
        "fused_lora": not (a.peft_lora or a.no_fused_lora),
        "offload_pinned_gib": round(offloader.pool.allocated_bytes / 2**30, 2) if offloader else None,
        "offload_copies": offloader.copies if offloader else None,
        "offload_prefetches": offloader.prefetches if offloader else None,
        "batch": cfg.training.per_device_train_batch_size, "cutoff": cfg.data.cutoff_len,
        "step_s": [round(b - e, 3) for e, b in zip(step_ends, step_ends[1:], strict=False)] if a.step_times else None,
        "build_s": round(build_s, 1), "wall_s": round(t_end - t1, 1), "first_loss": losses[:1],
        "last_loss": losses[-1:], "gpu": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
    }
    print("RESULT " + json.dumps(result), flush=True)
    if a.json:
        with open(a.json, "a") as fh:
            fh.write(json.dumps(result) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
