"""Optimisers beyond transformers' defaults: LoRA+ parameter groups, and GaLore / APOLLO set up the way
LLaMA-Factory's keys describe them, run by transformers' own low-rank optimisers."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def loraplus_optimizer(model, args, ratio: float, embedding_lr: float):
    """LoRA+ (Hayou et al., 2024): the B matrices learn `ratio` times faster than A."""
    decay, groups = args.weight_decay, {"a": [], "b": [], "b_nodecay": [], "embedding": [], "other": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if "lora_embedding" in name:
            groups["embedding"].append(p)
        elif "lora_B" in name:
            groups["b" if p.ndim > 1 else "b_nodecay"].append(p)
        elif "lora_A" in name:
            groups["a"].append(p)
        else:
            groups["other"].append(p)
    lr = args.learning_rate
    param_groups = [
        {"params": groups["a"], "lr": lr, "weight_decay": decay},
        {"params": groups["b"], "lr": lr * ratio, "weight_decay": decay},
        {"params": groups["b_nodecay"], "lr": lr * ratio, "weight_decay": 0.0},
        {"params": groups["embedding"], "lr": embedding_lr, "weight_decay": decay},
        {"params": groups["other"], "lr": lr, "weight_decay": decay},
    ]
    from transformers import Trainer

    optim_cls, optim_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    optim_kwargs.pop("lr", None)
    log.info("LoRA+: lr of B = %g x %g", lr, ratio)
    return optim_cls([g for g in param_groups if g["params"]], **optim_kwargs)


def linear_module_names(model) -> list[str]:
    """The short names of the model's linear layers (q_proj, up_proj, ...), the output head excepted: what
    `*_target: all` means (LLaMA-Factory's rule)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and module is not head}
    return sorted(names)


def use_low_rank_optimizer(args, model, f) -> str | None:
    """For use_galore / use_apollo: point the training arguments at transformers' GaLore / APOLLO optimiser
    (optim, optim_target_modules, optim_args from the galore_* / apollo_* keys). Returns the optimiser's
    name, or None when neither is on. The config check has refused the combinations they cannot run."""
    from transformers.training_args import OptimizerNames

    from lmforge.config.parser import LOW_RANK_OPTIMIZERS, low_rank_method

    method = low_rank_method(f)
    if method is None:
        return None
    current = getattr(args.optim, "value", args.optim)
    if current.startswith(f"{method}_"):  # these arguments were set up already (a second trainer on them)
        return current
    name = LOW_RANK_OPTIMIZERS[method][current]
    if getattr(f, f"{method}_layerwise"):
        name += "_layerwise"
    targets = getattr(f, f"{method}_target")
    targets = linear_module_names(model) if targets == ["all"] else list(targets)
    if method == "galore":
        settings = {"rank": f.galore_rank, "update_proj_gap": f.galore_update_interval, "scale": f.galore_scale,
                    "proj_type": f.galore_proj_type}
    else:
        settings = {"rank": f.apollo_rank, "proj": f.apollo_proj, "scale_type": f.apollo_scale_type,
                    "update_proj_gap": f.apollo_update_interval, "scale": f.apollo_scale,
                    "proj_type": f.apollo_proj_type}
    args.optim = OptimizerNames(name)
    args.optim_target_modules = targets
    args.optim_args = ",".join(f"{k}={v}" for k, v in settings.items())
    log.info("%s: optimiser %s on %s (%s)", "GaLore" if method == "galore" else "APOLLO", name,
             ", ".join(targets), args.optim_args)
    return name
