"""DeepSpeed ZeRO-3 with LoRA through `lmforge train`, on CPU (DeepSpeed picks its CPU accelerator here).

The weights are partitioned as they load (deepspeed.zero.Init), so these runs cover the set-up order (DeepSpeed's
process group before the model) and the LoRA fast path under DeepSpeed's own bf16 (no autocast).
"""

from pathlib import Path

import pytest
from helpers import lmforge, losses_by_step, write_alpaca_dataset

pytestmark = pytest.mark.slow

Z3 = Path(__file__).resolve().parents[2] / "examples" / "deepspeed" / "ds_z3_config.json"


def _args(model, data, out, batch, *extra):
    return ["train", f"model_name_or_path={model}", f"dataset_dir={data}", "dataset=tiny_sft", "template=qwen3",
            f"output_dir={out}", "max_steps=3", "logging_steps=1", f"per_device_train_batch_size={batch}",
            "learning_rate=5e-3", "cutoff_len=64", "report_to=none", "save_strategy=no", "seed=11",
            "disable_shuffling=true", "lora_dropout=0", "disable_gradient_checkpointing=true", *extra]


def test_zero3_lora_on_two_processes_matches_one_process(tiny_model, tmp_path):
    """Each rank holds half of every weight; the losses equal a plain single-process run with the same global
    batch. Before DeepSpeed's process group was set up ahead of the model, each rank sized its batch for a world
    of one and the run stopped in zero.Init."""
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data", n=32)
    single = lmforge(*_args(model, data, tmp_path / "one", 4))
    assert single.returncode == 0, single.stderr[-3000:]
    z3 = lmforge(*_args(model, data, tmp_path / "z3", 2, f"deepspeed={Z3}"),
                 env={"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2", "OMP_NUM_THREADS": "1"})
    assert z3.returncode == 0, z3.stderr[-3000:]
    one, two = losses_by_step(tmp_path / "one"), losses_by_step(tmp_path / "z3")
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
