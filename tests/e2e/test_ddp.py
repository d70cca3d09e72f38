"""DDP on CPU (torchrun, 2 processes, gloo) gives the same losses as one process with the same global batch."""

import pytest
from helpers import lmforge, losses_by_step, write_alpaca_dataset

pytestmark = pytest.mark.slow


def _args(model, data, out, batch):
    return ["train", f"model_name_or_path={model}", f"dataset_dir={data}", "dataset=tiny_sft", "template=qwen3",
            f"output_dir={out}", "max_steps=4", "logging_steps=1", f"per_device_train_batch_size={batch}",
            "learning_rate=5e-3", "cutoff_len=64", "report_to=none", "save_strategy=no", "seed=11",
            "disable_shuffling=true", "lora_dropout=0", "disable_gradient_checkpointing=true"]


def test_two_process_ddp_matches_one_process(tiny_model, tmp_path):
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data", n=32)
    single = lmforge(*_args(model, data, tmp_path / "one", batch=4))
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = lmforge(*_args(model, data, tmp_path / "two", batch=2),
                  env={"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2", "OMP_NUM_THREADS": "1"})
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "launching 2 processes per node with torchrun" in ddp.stderr
    one, two = losses_by_step(tmp_path / "one"), losses_by_step(tmp_path / "two")
    assert sorted(one) == sorted(two) == [1, 2, 3, 4]
    assert two == pytest.approx(one, rel=1e-4)
