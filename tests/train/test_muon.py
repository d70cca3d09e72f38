"""use_muon: torch.optim.Muon on the hidden 2-D weight matrices, AdamW on the rest (embeddings, the output
head, norms, biases), LLaMA-Factory's split and scaling. Checked on the weights after real training steps:

- a Muon matrix moves by -lr' * NS(momentum), lr' = lr * 0.2 * sqrt(max(rows, cols)) (Moonshot's scaling, which
  LLaMA-Factory's Muon uses), and NS (5 quintic Newton-Schulz steps) sends the singular values of its input to
  about 0.7..1.15 (torch's docs: S' ~ Uniform(0.5, 1.5), not exactly 1) — so the singular values of the update
  divided by lr' are near 1; directions the gradient hardly has stay small, so the check is on the top half;
- an AdamW parameter's first update is lr * sign(gradient): every element that moves, moves by (about) lr.
An AdamW step on a matrix (lr * a sign matrix) has a top singular value ~2 sqrt(n) lr / lr' ~ 10: it fails."""

import math
import random

import pytest
import torch
from datasets import Dataset

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer
from lmforge.train.collators import PaddingCollator
from lmforge.train.optimizers import MuonWithAdamW, muon_param_split
from lmforge.train.trainer import LmforgeTrainer

LR = 1e-2


def _examples(n=8, seed=0):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        ids = [rng.randint(10, 5000) for _ in range(rng.randint(8, 30))]
        rows.append({"input_ids": ids, "labels": ids})
    return Dataset.from_list(rows)


def _trainer(model_path, tmp_path, *keys, steps=1):
    cfg = load_config(parse_argv([
        f"model_name_or_path={model_path}", "dataset=unused", f"output_dir={tmp_path}", "use_muon=true",
        "per_device_train_batch_size=4", f"max_steps={steps}", "logging_steps=1", f"learning_rate={LR}",
        "report_to=none", "disable_gradient_checkpointing=true", "seed=1", *keys,
    ]))
    tokenizer = load_tokenizer(cfg.model)
    torch.manual_seed(0)
    model = apply_finetuning(load_model(cfg, tokenizer), cfg)
    return LmforgeTrainer(model=model, args=cfg.training, train_dataset=_examples(),
                          data_collator=PaddingCollator(tokenizer.pad_token_id), processing_class=tokenizer,
                          lmforge_config=cfg)


def _inner(trainer) -> MuonWithAdamW:
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate's wrapper
    assert isinstance(optimizer, MuonWithAdamW)
    return optimizer


def test_muon_orthogonalises_hidden_matrices_and_adamw_takes_the_rest(tiny_model, tmp_path):
    trainer = _trainer(tiny_model("llama"), tmp_path, "finetuning_type=full", "save_strategy=no")
    model = trainer.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer.train()
    deltas = {n: p.detach() - before[n] for n, p in model.named_parameters()}
    optimizer = _inner(trainer)
    by_muon = {id(p) for g in optimizer.muon.param_groups for p in g["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in by_muon}
    assert names == {n for n in deltas if n.endswith("proj.weight")} and len(names) == 14
    for name in names:
        delta = deltas[name]
        scaled = torch.linalg.svdvals(delta.double()) / (LR * 0.2 * math.sqrt(max(delta.shape)))
        top = scaled[: len(scaled) // 2]
        assert top.min() > 0.6 and top.max() < 1.3, (name, scaled)
    for name in set(deltas) - names:  # embeddings, head, norms: AdamW's first step, lr * sign(g)
        moved = deltas[name].abs()[deltas[name] != 0]
        assert moved.numel() > 0, name
        # |lr * m / (sqrt(v) + eps)| <= lr, = lr where |g| >> eps (the head's rarest tokens get gradients ~eps)
        assert LR * 0.999 < moved.max() < LR * 1.001 and moved.median() > 0.95 * LR, (name, moved.median())
    assert any(deltas[n].ndim == 1 for n in set(deltas) - names) and "model.embed_tokens.weight" not in names


@pytest.mark.parametrize("keys, muon_names", [
    (["finetuning_type=freeze", "freeze_trainable_layers=1"], "model.layers.1.*proj.weight"),
    (["finetuning_type=lora", "lora_target=q_proj,v_proj"], "lora_A / lora_B"),
])
def test_muon_split_follows_what_trains(tiny_model, tmp_path, keys, muon_names):
    trainer = _trainer(tiny_model("llama"), tmp_path, *keys, "save_strategy=no")
    trainer.train()
    muon, adamw = muon_param_split(trainer.model)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert len(muon) + len(adamw) == len(trainable)
    named = {id(p): n for n, p in trainer.model.named_parameters()}
    optimizer = _inner(trainer)
    got = sorted(named[id(p)] for g in optimizer.muon.param_groups for p in g["params"])
    if keys[0] == "finetuning_type=lora":
        assert len(got) == 8 and all(".lora_A." in n or ".lora_B." in n for n in got)
    else:
        assert len(got) == 7 and all(n.startswith("model.layers.1.") and n.endswith("proj.weight") for n in got)
        adamw_names = sorted(named[id(p)] for p in adamw)
        assert adamw_names == ["model.layers.1.input_layernorm.weight",
                               "model.layers.1.post_attention_layernorm.weight"]


def test_muon_schedule_and_resume(tiny_model, tmp_path):
    path = tiny_model("llama")
    keys = ("finetuning_type=full", "save_strategy=steps", "save_steps=1", "lr_scheduler_type=linear",
            "warmup_steps=1")
    whole = _trainer(path, tmp_path / "whole", *keys, steps=3)
    whole.train()
    optimizer = _inner(whole)
    lrs = {g["lr"] for g in optimizer.param_groups}  # the scheduler moved Muon's and AdamW's rates alike
    assert len(optimizer.param_groups) == 2 and lrs == {whole.lr_scheduler.get_last_lr()[0]}
    resumed = _trainer(path, tmp_path / "resumed", *keys, steps=3)
    resumed.train(resume_from_checkpoint=str(tmp_path / "whole" / "checkpoint-2"))
    state = _inner(resumed).state_dict()
    assert state["muon"]["state"] and state["adamw"]["state"]
    for (name, a), b in zip(whole.model.named_parameters(), resumed.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


@pytest.mark.parametrize("keys, message", [
    (["use_galore=true"], "use_muon: true with use_galore; Muon and GaLore"),
    (["use_apollo=true"], "use_muon: true with use_apollo"),
    (["finetuning_type=lora", "loraplus_lr_ratio=16"], "use_muon: true with loraplus_lr_ratio"),
    (["deepspeed=examples/deepspeed/ds_z3_config.json"], "use_muon: true with deepspeed"),
    (["fsdp=full_shard"], "use_muon: true with fsdp"),
    (["optim=sgd"], "use_muon: true with optim: sgd"),
])
def test_muon_config_errors(tmp_path, keys, message):
    base = ["model_name_or_path=m", "dataset=identity", "finetuning_type=full", f"output_dir={tmp_path}",
            "use_muon=true"]
    with pytest.raises(ConfigError, match=message) as error:
        load_config(parse_argv(base + keys))
    assert "\n" not in str(error.value)
