"""Gradient accumulation changes nothing: batch 8 x accumulation 1 == batch 1 x accumulation 8."""

import random

import pytest
import torch
from datasets import Dataset

from lmforge.config import load_config, parse_argv
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer
from lmforge.train.collators import PaddingCollator
from lmforge.train.trainer import LmforgeTrainer


def _examples(n=8, seed=0):
    """Variable lengths and variable numbers of loss tokens, so per-micro-batch averaging would differ."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.randint(6, 40)
        ids = [rng.randint(10, 5000) for _ in range(length)]
        prompt = rng.randint(1, length - 2)
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    return Dataset.from_list(rows)


def _train_one_step(model_path, tmp_path, batch, accum, finetuning_type):
    cfg = load_config(parse_argv([
        f"model_name_or_path={model_path}", "dataset=unused", f"finetuning_type={finetuning_type}",
        f"output_dir={tmp_path}", f"per_device_train_batch_size={batch}", f"gradient_accumulation_steps={accum}",
        "max_steps=2", "logging_steps=1", "learning_rate=1e-2", "save_strategy=no", "report_to=none",
        "disable_gradient_checkpointing=true", "seed=1", "lora_dropout=0", "dataloader_drop_last=false",
    ]))
    tokenizer = load_tokenizer(cfg.model)
    torch.manual_seed(0)
    model = apply_finetuning(load_model(cfg, tokenizer), cfg)
    trainer = LmforgeTrainer(model=model, args=cfg.training, train_dataset=_examples(),
                             data_collator=PaddingCollator(tokenizer.pad_token_id), processing_class=tokenizer,
                             lmforge_config=cfg)
    trainer.train()
    logs = [e for e in trainer.state.log_history if "loss" in e]
    params = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return logs, params


@pytest.mark.parametrize("finetuning_type", ["lora", "full"])
def test_batch8_equals_batch1_times_accumulation8(tiny_model, tmp_path, finetuning_type):
    path = tiny_model("qwen3")
    big, big_params = _train_one_step(path, tmp_path / "a", 8, 1, finetuning_type)
    small, small_params = _train_one_step(path, tmp_path / "b", 1, 8, finetuning_type)
    assert len(big) == len(small) == 2
    for b, s in zip(big, small, strict=True):
        assert s["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert s["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
    for name, p in big_params.items():
        # Adam divides by sqrt(v): float32 summation-order noise in tiny gradients shows up as ~1e-5
        torch.testing.assert_close(small_params[name], p, rtol=1e-3, atol=1e-4)


def test_per_microbatch_mean_would_differ():
    """The data above really separates the two normalisations (so the test above can fail)."""
    data = _examples()
    counts = [sum(1 for x in row["labels"][1:] if x != -100) for row in data]
    assert len(set(counts)) > 1
