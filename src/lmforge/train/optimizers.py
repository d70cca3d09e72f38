"""Optimisers beyond transformers' defaults: LoRA+ parameter groups, GaLore / APOLLO set up the way
LLaMA-Factory's keys describe them, run by transformers' own low-rank optimisers, and Muon (torch.optim.Muon on
the hidden matrices, AdamW on the rest)."""

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


def muon_param_split(model) -> tuple[list, list]:
    """use_muon's split (LLaMA-Factory's rule): the trainable 2-D matrices whose names contain neither "embed"
    nor "lm_head" go to Muon; everything else trainable (embeddings, the output head, norms, biases) to AdamW."""
    muon, adamw = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            hidden_matrix = p.ndim == 2 and "embed" not in name and "lm_head" not in name
            (muon if hidden_matrix else adamw).append(p)
    return muon, adamw


class MuonWithAdamW(torch.optim.Optimizer):
    """One optimiser object for the Trainer: torch.optim.Muon on the hidden matrices, torch.optim.AdamW on the
    rest. Its param_groups are the two inner optimisers' groups (so the LR scheduler moves both learning
    rates), and its state_dict holds both states (so checkpoints save and resume both)."""

    def __init__(self, muon_params, adamw_params, *, lr, weight_decay, betas, eps):
        # not Optimizer.__init__: the groups and the state belong to the inner optimisers
        self.defaults = {"lr": lr, "weight_decay": weight_decay}
        self._optimizer_step_pre_hooks, self._optimizer_step_post_hooks = {}, {}
        self._optimizer_state_dict_pre_hooks, self._optimizer_state_dict_post_hooks = {}, {}
        self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks = {}, {}
        # Moonshot's scaling (LLaMA-Factory's Muon): lr x 0.2 x sqrt(max(rows, cols)), the update RMS of AdamW
        self.muon = torch.optim.Muon(muon_params, lr=lr, weight_decay=weight_decay,
                                     adjust_lr_fn="match_rms_adamw") if muon_params else None
        self.adamw = torch.optim.AdamW(adamw_params, lr=lr, weight_decay=weight_decay, betas=betas,
                                       eps=eps) if adamw_params else None

    def _inner(self):
        return [o for o in (self.muon, self.adamw) if o is not None]

    @property
    def param_groups(self):
        return [g for o in self._inner() for g in o.param_groups]

    @property
    def state(self):
        return {p: s for o in self._inner() for p, s in o.state.items()}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for o in self._inner():
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self._inner():
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self):
        return {"muon": self.muon.state_dict() if self.muon else None,
                "adamw": self.adamw.state_dict() if self.adamw else None}

    def load_state_dict(self, state_dict) -> None:
        for key, o in (("muon", self.muon), ("adamw", self.adamw)):
            if (o is None) != (state_dict.get(key) is None):
                raise ValueError(f"this checkpoint's optimiser state does not match use_muon's {key} parameters")
            if o is not None:
                o.load_state_dict(state_dict[key])

    def __repr__(self) -> str:
        return f"MuonWithAdamW(muon={self.muon!r}, adamw={self.adamw!r})"


def muon_optimizer(model, args) -> MuonWithAdamW:
    """use_muon: Muon for the hidden matrices, AdamW (adam_beta1/2, adam_epsilon) for the rest, both at
    learning_rate and weight_decay, as LLaMA-Factory sets it up."""
    muon, adamw = muon_param_split(model)
    log.info("Muon: %d matrices by Muon, %d parameters by AdamW", len(muon), len(adamw))
    return MuonWithAdamW(muon, adamw, lr=args.learning_rate, weight_decay=args.weight_decay,
                         betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon)
