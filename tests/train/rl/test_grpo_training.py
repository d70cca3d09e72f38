"""stage grpo on the bundled tiny model: GRPO raises the mean reward of a toy verifiable task; rollouts
are reused num_iterations times; beta > 0 logs a KL that starts at 0 (LoRA: the reference is the policy
with its adapter disabled)."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lmforge.config import load_config, parse_argv
from lmforge.train.run import run_training

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / "examples" / "tiny-phi3"

pytestmark = pytest.mark.slow


def _half_vocabulary(tmp_path) -> Path:
    """A reward file: the fraction of completion tokens whose (tied) embedding row lies on the positive side
    of a fixed random direction u. About half the vocabulary, so a random policy scores ~0.5 with spread
    within each group; the policy can raise it by turning its last hidden state towards u."""
    weights = load_file(str(TINY / "model.safetensors"))
    emb = next(v for k, v in weights.items() if "embed_tokens" in k).float()
    u = torch.randn(emb.shape[1], generator=torch.Generator().manual_seed(0))
    ids = (emb @ u > 0).nonzero().flatten().tolist()
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    path = tmp_path / "toy_rewards.py"
    path.write_text(
        "import json\n"
        f"S = set(json.load(open({str(tmp_path / 'ids.json')!r})))\n"
        "CALLS = []\n"
        "def in_half(prompts, completions, completion_ids, **columns):\n"
        f"    open({str(tmp_path / 'calls.txt')!r}, 'a').write(str(len(completions)) + chr(10))\n"
        "    assert len(columns['solution']) == len(completions)  # the dataset's columns come along\n"
        "    return [sum(t in S for t in c) / max(len(c), 1) for c in completion_ids]\n")
    return path


def _train(tmp_path, *extra):
    out = tmp_path / "out"
    cfg = load_config(parse_argv([
        f"model_name_or_path={TINY}", "stage=grpo", "dataset=grpo_demo", f"dataset_dir={REPO / 'data'}",
        "template=phi", f"output_dir={out}", "max_samples=32", "per_device_train_batch_size=4",
        "num_generations=4", "max_completion_length=8", "logging_steps=1", "save_strategy=no", "report_to=none",
        "disable_gradient_checkpointing=true", "lr_scheduler_type=constant", "seed=1",
        f"reward_funcs={_half_vocabulary(tmp_path)}:in_half", *extra]))
    run_training(cfg)
    entries = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    return [e for e in entries if "loss" in e]


def test_grpo_raises_the_mean_reward(tmp_path):
    # measured (seed 1): 0.55 0.53 0.57 0.59 0.67 ... 0.98 0.92 0.98 1.0 1.0 by step 16
    steps = _train(tmp_path, "finetuning_type=full", "learning_rate=1e-2", "max_steps=16")
    rewards = [e["reward"] for e in steps]
    first, last = sum(rewards[:4]) / 4, sum(rewards[-4:]) / 4
    assert first < 0.7 and last > 0.85 and last > first + 0.2, rewards
    assert all(e["completions/max_length"] <= 8 for e in steps)


def test_rollouts_are_reused_num_iterations_times_and_kl_starts_at_zero(tmp_path):
    steps = _train(tmp_path, "finetuning_type=lora", "learning_rate=5e-2", "max_steps=4", "num_iterations=2",
                   "beta=0.1", "epsilon=0.01", "loss_type=grpo")
    calls = (tmp_path / "calls.txt").read_text().split()
    assert calls == ["16", "16"]  # 4 prompts x 4 completions, sampled on steps 1 and 3 only
    assert ["reward" in e for e in steps] == [True, False, True, False]
    assert steps[0]["kl"] < 1e-6 and steps[0]["clip_ratio/region_mean"] == 0.0  # the ratio is exactly 1
    assert steps[1]["kl"] > 0  # one update later the policy has left its reference
    assert steps[1]["clip_ratio/region_mean"] > 0  # and the reused rollouts' ratios leave [0.99, 1.01]
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


def test_full_policy_with_beta_uses_a_frozen_copy_as_reference(tmp_path):
    steps = _train(tmp_path, "finetuning_type=full", "learning_rate=1e-2", "max_steps=2", "beta=0.1",
                   "loss_type=bnpo", "scale_rewards=none")
    assert steps[0]["kl"] < 1e-6  # the policy starts as the reference
    assert steps[1]["kl"] > 1e-4  # the reference did not move with the policy
    assert (tmp_path / "out" / "model.safetensors").is_file()
