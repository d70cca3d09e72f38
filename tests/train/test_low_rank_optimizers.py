"""GaLore and APOLLO (use_galore / use_apollo): full-parameter training through transformers' low-rank optimisers,
set up as LLaMA-Factory's keys describe them. GaLore's defining property is checked on the weights: the
update of a target matrix lies in a rank-`galore_rank` subspace, while the parameters outside the targets get
ordinary full-rank AdamW updates."""

import random

import pytest
import torch
from datasets import Dataset

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer
from lmforge.train.collators import PaddingCollator
from lmforge.train.optimizers import linear_module_names, use_low_rank_optimizer
from lmforge.train.trainer import LmforgeTrainer


def _examples(n=8, seed=0):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        ids = [rng.randint(10, 5000) for _ in range(rng.randint(8, 30))]
        rows.append({"input_ids": ids, "labels": ids})
    return Dataset.from_list(rows)


def _rank(delta: torch.Tensor) -> int:
    """Numerical rank of a float32 weight change: singular values below 1e-4 of the largest are the rounding of
    the float32 weights it was computed from, not directions of the update."""
    return int(torch.linalg.matrix_rank(delta.double(), rtol=1e-4))


def _train(model_path, tmp_path, *keys, steps=1):
    cfg = load_config(parse_argv([
        f"model_name_or_path={model_path}", "dataset=unused", "finetuning_type=full", f"output_dir={tmp_path}",
        "per_device_train_batch_size=4", f"max_steps={steps}", "logging_steps=1", "learning_rate=1e-2",
        "save_strategy=no", "report_to=none", "disable_gradient_checkpointing=true", "seed=1", *keys,
    ]))
    tokenizer = load_tokenizer(cfg.model)
    torch.manual_seed(0)
    model = apply_finetuning(load_model(cfg, tokenizer), cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = LmforgeTrainer(model=model, args=cfg.training, train_dataset=_examples(),
                             data_collator=PaddingCollator(tokenizer.pad_token_id), processing_class=tokenizer,
                             lmforge_config=cfg)
    trainer.train()
    deltas = {n: (p.detach() - before[n]) for n, p in model.named_parameters()}
    return trainer, model, deltas


def test_galore_updates_each_target_matrix_within_its_rank(tiny_model, tmp_path):
    trainer, model, deltas = _train(tiny_model("llama"), tmp_path, "use_galore=true", "galore_rank=4",
                                    "galore_scale=0.5", "galore_update_interval=50")
    from galore_torch import GaLoreAdamW

    optimizer = trainer.optimizer.optimizer if hasattr(trainer.optimizer, "optimizer") else trainer.optimizer
    assert isinstance(optimizer, GaLoreAdamW)
    (group,) = [g for g in optimizer.param_groups if "rank" in g]
    assert (group["rank"], group["update_proj_gap"], group["scale"], group["proj_type"]) == (4, 50, 0.5, "std")
    targets = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and m is not model.lm_head}
    assert len(targets) == 14 and linear_module_names(model) == sorted({t.rsplit(".", 1)[-1] for t in targets})
    assert {id(p) for p in group["params"]} == {id(model.get_submodule(t).weight) for t in targets}
    for name in targets:
        delta = deltas[f"{name}.weight"]
        assert delta.abs().sum() > 0
        assert _rank(delta) <= 4, name  # projected back from rank 4
    # the head and the norms are not targets: ordinary AdamW, whose first step is full rank
    assert _rank(deltas["lm_head.weight"]) > 4
    assert deltas["model.norm.weight"].abs().sum() > 0


def test_galore_targets_by_name_and_layerwise(tiny_model, tmp_path):
    trainer, model, deltas = _train(tiny_model("llama"), tmp_path, "use_galore=true", "galore_rank=2",
                                    "galore_target=q_proj,v_proj", "galore_layerwise=true", steps=2)
    assert trainer.args.optim == "galore_adamw_layerwise"
    assert trainer.args.optim_target_modules == ["q_proj", "v_proj"]
    # the same arguments handed to another trainer (they now name GaLore's optimiser): set up the same way
    assert use_low_rank_optimizer(trainer.args, model, trainer.lmforge_config.finetuning) == "galore_adamw_layerwise"
    assert trainer.args.optim_target_modules == ["q_proj", "v_proj"]
    for name, delta in deltas.items():
        if name.endswith(("q_proj.weight", "v_proj.weight")):
            assert delta.abs().sum() > 0 and _rank(delta) <= 2 * 2, name  # 2 steps
        elif name.endswith("k_proj.weight"):
            assert _rank(delta) > 4, name  # not a target: full-rank AdamW


def test_apollo_trains_with_its_settings(tiny_model, tmp_path):
    trainer, model, deltas = _train(tiny_model("llama"), tmp_path, "use_apollo=true", "apollo_rank=4",
                                    "apollo_scale=8", "apollo_proj=random", steps=2)
    from apollo_torch import APOLLOAdamW

    optimizer = trainer.optimizer.optimizer if hasattr(trainer.optimizer, "optimizer") else trainer.optimizer
    assert isinstance(optimizer, APOLLOAdamW)
    (group,) = [g for g in optimizer.param_groups if "rank" in g]
    assert (group["rank"], group["scale"], group["proj"], group["scale_type"]) == (4, 8.0, "random", "channel")
    assert len(group["params"]) == 14
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert all(d.abs().sum() > 0 for n, d in deltas.items() if n.endswith("proj.weight"))


@pytest.mark.parametrize("keys, message", [
    (["use_galore=true", "finetuning_type=lora"], "use_galore: true with finetuning_type: lora"),
    (["use_galore=true", "use_apollo=true"], "both true"),
    (["use_galore=true", "optim=sgd"], "use_galore: true with optim: sgd; GaLore comes as galore_adafactor, "
                                       "galore_adamw, galore_adamw_8bit"),
    (["use_apollo=true", "optim=adafactor"], "APOLLO comes as apollo_adamw"),
    (["use_galore=true", "galore_layerwise=true", "gradient_accumulation_steps=4"], "cannot accumulate"),
    (["use_apollo=true", "apollo_scale_front=true"], "apollo_scale_front: .*does not take it"),
])
def test_low_rank_optimizer_config_errors(tmp_path, keys, message):
    base = ["model_name_or_path=m", "dataset=identity", "finetuning_type=full", f"output_dir={tmp_path}"]
    with pytest.raises(ConfigError, match=message):
        load_config(parse_argv(base + keys))
