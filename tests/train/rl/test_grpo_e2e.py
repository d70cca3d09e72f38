"""`lmforge train examples/train_lora/qwen3_lora_grpo.yaml` as a user runs it, the model swapped for the
bundled tiny one and the run shortened; a user reward function given as path/to/file.py:function."""

from pathlib import Path

import pytest
from e2e.helpers import lmforge, read_log  # tests/ is on sys.path (conftest.py)

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def test_grpo_recipe_runs_and_logs_rewards(tmp_path):
    rewards = tmp_path / "my_rewards.py"
    rewards.write_text("def short(prompts, completions, completion_ids, **columns):\n"
                       "    return [1.0 / (1 + len(ids)) for ids in completion_ids]\n")
    out = tmp_path / "out"
    result = lmforge(
        "train", str(REPO / "examples" / "train_lora" / "qwen3_lora_grpo.yaml"),
        f"model_name_or_path={REPO / 'examples' / 'tiny-phi3'}", "template=phi",
        f"reward_funcs=accuracy,format,{rewards}:short", "reward_weights=1,0.2,1", "beta=0.05",
        f"output_dir={out}", "max_steps=2", "max_samples=8", "max_completion_length=8",
        "preprocessing_num_workers=1", "dataloader_num_workers=0", "logging_steps=1", cwd=REPO)
    assert result.returncode == 0, result.stderr[-4000:]
    steps = [e for e in read_log(out) if "loss" in e]
    assert [e["step"] for e in steps] == [1, 2]
    for key in ("reward", "reward_std", "rewards/accuracy/mean", "rewards/format/mean", "rewards/short/mean",
                "rewards/short/std", "kl", "clip_ratio/region_mean", "completions/mean_length"):
        assert key in steps[0], key
    # short's reward is 1 / (1 + tokens) with at most 8 tokens; the weighted sum adds accuracy and 0.2 x format
    assert 0.111 <= steps[0]["rewards/short/mean"] <= 0.5
    assert steps[0]["completions/max_length"] <= 8
    assert (out / "adapter_model.safetensors").is_file()
    assert (out / "training_reward.png").is_file() and (out / "training_loss.png").is_file()


def test_a_bad_reward_function_is_one_line_naming_it(tmp_path):
    result = lmforge(
        "train", str(REPO / "examples" / "train_lora" / "qwen3_lora_grpo.yaml"),
        f"model_name_or_path={REPO / 'examples' / 'tiny-phi3'}", "template=phi", "bf16=false",
        f"reward_funcs=accuracy,{tmp_path / 'missing.py'}:f", "reward_weights=1,1", f"output_dir={tmp_path / 'o'}",
        "max_steps=1", "max_samples=8", cwd=REPO)
    assert result.returncode != 0
    assert f"reward_funcs: '{tmp_path / 'missing.py'}:f': the file {tmp_path / 'missing.py'} does not exist" in \
        result.stderr
