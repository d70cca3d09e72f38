"""Choose what trains: the whole model (full), the last/first layers (freeze), or LoRA adapters (PEFT)."""

from __future__ import annotations

import logging
import re

import torch

from lmforge.config import Config
from lmforge.errors import ConfigError, did_you_mean

log = logging.getLogger(__name__)

_HEADS = ("lm_head", "embed_out", "output_layer", "score", "v_head")


def apply_finetuning(model, cfg: Config, *, is_trainable: bool = True):
    """Returns the model (a PeftModel for LoRA) with exactly the intended parameters trainable."""
    kind = cfg.finetuning.finetuning_type
    if kind == "full":
        model.requires_grad_(is_trainable)
        if is_trainable:
            _freeze_vl_parts(model, cfg)
            _upcast_trainable(model, cfg)
    elif kind == "freeze":
        if is_trainable:
            _apply_freeze(model, cfg)
            _freeze_vl_parts(model, cfg, train_unfrozen=True)
        else:
            model.requires_grad_(False)
    elif kind == "lora":
        model = _apply_lora(model, cfg, is_trainable=is_trainable)
    else:
        raise ConfigError(f"finetuning_type: {kind} is not implemented yet; use lora, freeze or full")
    if is_trainable:
        log.info("trainable parameters: %s", trainable_summary(model))
        if cfg.model.print_param_status:
            for name, p in model.named_parameters():
                log.info("%s %s %s trainable=%s", name, tuple(p.shape), p.dtype, p.requires_grad)
    return model


def trainable_summary(model) -> str:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return f"{trainable:,} of {total:,} ({100 * trainable / max(total, 1):.4f}%)"


def _upcast_trainable(model, cfg: Config) -> None:
    """Trainable weights are kept in float32 under mixed precision; pure_bf16 keeps them in bf16."""
    if cfg.finetuning.pure_bf16:
        return
    for p in model.parameters():
        if p.requires_grad and p.dtype in (torch.float16, torch.bfloat16):
            p.data = p.data.float()


def _freeze_vl_parts(model, cfg: Config, train_unfrozen: bool = False) -> None:
    """Vision-language models: freeze_vision_tower / freeze_multi_modal_projector / freeze_language_model.
    train_unfrozen (finetuning_type freeze, which picks language-model layers): a vision tower or projector
    that is not frozen is trained whole."""
    from lmforge.media import frozen_prefixes, model_parts, name_matches

    parts = model_parts(model)
    if parts is None:
        return
    frozen = frozen_prefixes(parts, cfg.finetuning)
    others = tuple(p for p in parts.vision_tower + parts.projector if p not in frozen)
    for name, p in model.named_parameters():
        if name_matches(name, frozen):
            p.requires_grad_(False)
        elif train_unfrozen and name_matches(name, others):
            p.requires_grad_(True)
    _upcast_trainable(model, cfg)


def _decoder_layers(model) -> tuple[str, int]:
    """The module path prefix of the repeated decoder blocks ('model.layers') and how many there are."""
    from lmforge.media import model_parts

    parts = model_parts(model)  # a VL model: the language model's blocks, not the vision tower's
    best: tuple[str, int] = ("", 0)
    for name, module in model.named_modules():
        if parts is not None and not f".{name}".endswith(f".{parts.decoder_layers}"):
            continue
        if isinstance(module, torch.nn.ModuleList) and len(module) > best[1]:
            best = (name, len(module))
    if not best[1]:
        raise ConfigError("finetuning_type: freeze found no repeated layers in this model")
    return best


def _apply_freeze(model, cfg: Config) -> None:
    f = cfg.finetuning
    prefix, n_layers = _decoder_layers(model)
    k = f.freeze_trainable_layers
    if abs(k) > n_layers:
        raise ConfigError(f"freeze_trainable_layers: {k} but the model has only {n_layers} layers")
    layer_ids = range(n_layers - k, n_layers) if k > 0 else range(-k)
    modules = f.freeze_trainable_modules
    layer_names = {name.split(".")[-1] for name, _ in model.named_modules()}
    for m in modules:
        if m != "all" and m not in layer_names:
            raise ConfigError(f"freeze_trainable_modules: '{m}' is not a module of this model"
                              f"{did_you_mean(m, layer_names)}")
    extra = f.freeze_extra_modules or []
    for m in extra:
        if m not in layer_names:
            raise ConfigError(f"freeze_extra_modules: '{m}' is not a module of this model"
                              f"{did_you_mean(m, layer_names)}")
    patterns = [re.compile(rf"^{re.escape(prefix)}\.{i}\.") for i in layer_ids]
    for name, p in model.named_parameters():
        in_layer = any(pat.match(name) for pat in patterns)
        train = in_layer and ("all" in modules or any(f".{m}." in f".{name}" for m in modules))
        train = train or any(f".{m}." in f".{name}" for m in extra)
        p.requires_grad_(train)
    _upcast_trainable(model, cfg)
    log.info("freeze: training layers %s of %d (%s)", list(layer_ids), n_layers, ",".join(modules))


def lora_target_modules(model, targets: list[str]) -> list[str]:
    """`all` -> every linear layer's short name except the output heads; otherwise the names, checked."""
    linear_names = {name.split(".")[-1] for name, module in model.named_modules()
                    if isinstance(module, torch.nn.Linear) and name.split(".")[-1] not in _HEADS}
    if targets == ["all"]:
        return sorted(linear_names)
    all_names = {name.split(".")[-1] for name, _ in model.named_modules()}
    for t in targets:
        if t not in all_names:
            raise ConfigError(f"lora_target: '{t}' is not a module of this model{did_you_mean(t, all_names)}; "
                              f"its linear layers are: {', '.join(sorted(linear_names))}")
    return targets


def _apply_lora(model, cfg: Config, *, is_trainable: bool):
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model

    f, margs = cfg.finetuning, cfg.model
    adapters = list(margs.adapter_name_or_path or [])
    if adapters:
        # earlier adapters are merged; the last is trained further unless create_new_adapter
        resume_last = is_trainable and not f.create_new_adapter
        to_merge = adapters[:-1] if resume_last else adapters
        for path in to_merge:
            model = PeftModel.from_pretrained(model, path, subfolder=margs.adapter_folder or "")
            model = model.merge_and_unload()
        if resume_last:
            model = PeftModel.from_pretrained(model, adapters[-1], subfolder=margs.adapter_folder or "",
                                              is_trainable=True)
            log.info("continuing to train adapter %s (merged: %s)", adapters[-1], to_merge or "none")
            _upcast_trainable(model, cfg)
            return model
        log.info("merged adapters: %s", to_merge)
        if not is_trainable:
            return model
    if not is_trainable:
        return model
    targets = lora_target_modules(model, f.lora_target)
    from lmforge.media import frozen_prefixes, frozen_regex, model_parts

    parts = model_parts(model)  # VL models: no adapters in the frozen parts (vision tower, projector, LM)
    exclude = frozen_regex(frozen_prefixes(parts, f)) if parts is not None else None
    if parts is not None and f.lora_target == ["all"]:
        # full paths: short names of a VL model collide (the projector's Sequential linears '0', '2' vs
        # 'layers.0'), and an empty list would silently train nothing
        targets = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)
                   and n.split(".")[-1] not in _HEADS and not re.fullmatch(exclude or "(?!)", n)]
        if not targets:
            raise ConfigError("lora_target: all finds no linear layer outside the frozen parts "
                              "(freeze_vision_tower / freeze_multi_modal_projector / freeze_language_model)")
    init = True
    if f.pissa_init:
        init = "pissa" if f.pissa_iter == -1 else f"pissa_niter_{f.pissa_iter}"
    is_reward_model = getattr(model.config, "num_labels", None) == 1 and not hasattr(model, "lm_head")
    config = LoraConfig(
        # for a reward model, SEQ_CLS makes PEFT train and save the new score head with the adapter
        task_type=TaskType.SEQ_CLS if is_reward_model else TaskType.CAUSAL_LM,
        r=f.lora_rank,
        lora_alpha=f.lora_alpha,
        lora_dropout=f.lora_dropout,
        target_modules=targets,
        exclude_modules=exclude,
        modules_to_save=f.additional_target,
        use_rslora=f.use_rslora,
        use_dora=f.use_dora,
        init_lora_weights=init,
    )
    model = get_peft_model(model, config)
    short = sorted({t.split(".")[-1] for t in targets})  # (a VL model's targets are full paths)
    log.info("LoRA r=%d alpha=%s on %s%s%s", f.lora_rank, f.lora_alpha, ",".join(short),
             " (rsLoRA)" if f.use_rslora else "", " (DoRA)" if f.use_dora else "")
    _upcast_trainable(model, cfg)
    return model
