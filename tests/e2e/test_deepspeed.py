"""DeepSpeed ZeRO through `lmforge train`, on CPU (DeepSpeed picks its CPU accelerator here).

ZeRO-3 partitions the weights as they load (deepspeed.zero.Init), so these runs cover the set-up order (DeepSpeed's
process group before the model), full-weight ZeRO-3 runs, dpo under ZeRO-3 (LoRA, and full with a partitioned
reference model), ZeRO-2, and the LoRA fast path under DeepSpeed's own bf16 (no autocast).
"""

import json
from pathlib import Path

import pytest
from helpers import lmforge, losses_by_step, write_alpaca_dataset

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "deepspeed"
Z3 = EXAMPLES / "ds_z3_config.json"
TWO = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2", "OMP_NUM_THREADS": "1"}


def _args(model, data, out, batch, *extra):
    return ["train", f"model_name_or_path={model}", f"dataset_dir={data}", "dataset=tiny_sft", "template=qwen3",
            f"output_dir={out}", "max_steps=3", "logging_steps=1", f"per_device_train_batch_size={batch}",
            "learning_rate=5e-3", "cutoff_len=64", "report_to=none", "save_strategy=no", "seed=11",
            "disable_shuffling=true", "lora_dropout=0", "disable_gradient_checkpointing=true", *extra]


def _add_pairs(data: Path) -> None:
    """A pairwise dataset `tiny_dpo` next to tiny_sft: the right sum chosen, one more rejected."""
    rows = [{"instruction": f"What is {a} plus {b}?", "chosen": f"{a} plus {b} is {a + b}.",
             "rejected": f"{a} plus {b} is {a + b + 1}."} for a, b in ((i % 17 + 1, (i * 7) % 23 + 2) for i in range(32))]
    (data / "tiny_dpo.json").write_text(json.dumps(rows))
    info = json.loads((data / "dataset_info.json").read_text())
    info["tiny_dpo"] = {"file_name": "tiny_dpo.json", "ranking": True,
                        "columns": {"prompt": "instruction", "chosen": "chosen", "rejected": "rejected"}}
    (data / "dataset_info.json").write_text(json.dumps(info))


@pytest.mark.parametrize(("config", "extra"), [
    ("ds_z2_config.json", ()),  # ZeRO-2 + LoRA sft
    ("ds_z3_config.json", ("finetuning_type=full", "learning_rate=1e-4")),  # ZeRO-3, every weight partitioned
    ("ds_z3_config.json", ("stage=dpo", "dataset=tiny_dpo")),  # ZeRO-3 + LoRA dpo (reference: adapter off)
    # full dpo: the reference is a second partitioned model, run by an inference-only DeepSpeed engine (without
    # one its partitioned embedding failed: "Padding_idx must be within num_embeddings")
    ("ds_z3_config.json", ("stage=dpo", "dataset=tiny_dpo", "finetuning_type=full", "learning_rate=1e-4")),
    # optimiser state and weights offloaded to CPU memory: DeepSpeed's CPU Adam, a C++ op built on first use
    ("ds_z3_offload_config.json", ()),
], ids=["z2-lora-sft", "z3-full-sft", "z3-lora-dpo", "z3-full-dpo", "z3-offload-lora-sft"])
def test_zero_on_two_processes_matches_one_process(tiny_model, tmp_path, config, extra):
    """Each rank holds half of the optimiser state (ZeRO-2) or of every weight too (ZeRO-3); the losses equal a
    plain single-process run with the same global batch. Before DeepSpeed's process group was set up ahead of
    the model, each ZeRO-3 rank sized its batch for a world of one and the run stopped in zero.Init."""
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data", n=32)
    _add_pairs(data)
    single = lmforge(*_args(model, data, tmp_path / "one", 4, *extra))
    assert single.returncode == 0, single.stderr[-3000:]
    ds = lmforge(*_args(model, data, tmp_path / "ds", 2, *extra, f"deepspeed={EXAMPLES / config}"), env=TWO)
    assert ds.returncode == 0, ds.stderr[-3000:]
    assert "launching 2 processes per node with torchrun" in ds.stderr
    one, two = losses_by_step(tmp_path / "one"), losses_by_step(tmp_path / "ds")
    assert sorted(one) == sorted(two) == [1, 2, 3]
    assert two == pytest.approx(one, rel=1e-4)


def test_zero3_lora_in_bf16_trains(tiny_model, tmp_path):
    """DeepSpeed's bf16 casts the weights, with no autocast: LoRA layers must keep casting their input to the
    float32 adapters (skipping it crashed: 'expected m1 and m2 to have the same dtype'). The losses stay within
    bf16 rounding of a plain bf16 run."""
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data", n=32)
    plain = lmforge(*_args(model, data, tmp_path / "plain", 4, "bf16=true"))
    assert plain.returncode == 0, plain.stderr[-3000:]
    z3 = lmforge(*_args(model, data, tmp_path / "z3", 4, "bf16=true", f"deepspeed={Z3}"),
                 env={"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "1", "OMP_NUM_THREADS": "1"})
    assert z3.returncode == 0, z3.stderr[-3000:]
    assert (tmp_path / "z3" / "adapter_model.safetensors").is_file()
    ref, got = losses_by_step(tmp_path / "plain"), losses_by_step(tmp_path / "z3")
    assert sorted(got) == [1, 2, 3]
    assert got == pytest.approx(ref, rel=2e-2)
