"""Choose what trains: the whole model (full), the last/first layers (freeze), or LoRA adapters (PEFT)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import warnings
from pathlib import Path

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
        with _quiet_peft_deprecation():
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
    # A ZeRO-3 weight partitioned as it loaded holds an empty tensor here; ds_numel is its full size.
    def numel(p):
        return getattr(p, "ds_numel", None) or p.numel()

    trainable = sum(numel(p) for p in model.parameters() if p.requires_grad)
    total = sum(numel(p) for p in model.parameters())
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


def _embedding_module_names(model) -> list[str]:
    wanted = [m for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None]
    return sorted({name.split(".")[-1] for name, module in model.named_modules() if any(module is w for w in wanted)})


def _ties_embeddings(model) -> bool:
    head, embed = model.get_output_embeddings(), model.get_input_embeddings()
    return head is not None and head.weight is embed.weight


@contextlib.contextmanager
def _quiet_peft_deprecation():
    """peft (0.21) reads the model's `is_gradient_checkpointing` on every PeftModel it builds, which transformers
    5 deprecated for `is_activation_checkpointing` with a FutureWarning: peft's call, not one we can update, so
    that one warning (matched by its text) is silenced here and every other still shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated",
                                category=FutureWarning)
        yield


def _apply_lora(model, cfg: Config, *, is_trainable: bool):
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model

    f, margs = cfg.finetuning, cfg.model
    adapters = list(margs.adapter_name_or_path or [])
    if adapters:
        # earlier adapters are merged; the last is trained further unless create_new_adapter
        resume_last = is_trainable and not f.create_new_adapter
        to_merge = adapters[:-1] if resume_last else adapters
        for path in adapters:
            _refuse_unconverted_pissa(path, margs.adapter_folder)
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
    modules_to_save = f.additional_target
    if margs.resize_vocab and modules_to_save is None:
        # as LLaMA-Factory: the new tokens' rows must train, and the adapter must carry the resized matrices
        modules_to_save = _embedding_module_names(model)
        log.warning("resize_vocab: training and saving %s with the adapter", ",".join(modules_to_save))
    config = LoraConfig(
        # for a reward model, SEQ_CLS makes PEFT train and save the new score head with the adapter
        task_type=TaskType.SEQ_CLS if is_reward_model else TaskType.CAUSAL_LM,
        r=f.lora_rank,
        lora_alpha=f.lora_alpha,
        lora_dropout=f.lora_dropout,
        target_modules=targets,
        exclude_modules=exclude,
        modules_to_save=modules_to_save,
        # a tied head stays tied to the trained embedding (else each trains its own copy, and loading the export
        # ties them again, dropping the head's)
        ensure_weight_tying=bool(modules_to_save) and _ties_embeddings(model),
        use_rslora=f.use_rslora,
        use_dora=f.use_dora,
        init_lora_weights=init,
    )
    model = get_peft_model(model, config)
    if f.pissa_init and f.pissa_convert and cfg.training.should_save:
        save_pissa_init(model, cfg.training.output_dir)
    short = sorted({t.split(".")[-1] for t in targets})  # (a VL model's targets are full paths)
    log.info("LoRA r=%d alpha=%s on %s%s%s", f.lora_rank, f.lora_alpha, ",".join(short),
             " (rsLoRA)" if f.use_rslora else "", " (DoRA)" if f.use_dora else "")
    _upcast_trainable(model, cfg)
    return model


# ---------------------------------------------------------------------------------------------------------
# PiSSA: initialising LoRA from the principal singular vectors moves them out of the base weights (the base
# becomes the residual W - BA). The trained adapter then fits only that residual; pissa_convert turns it into
# a plain LoRA adapter (rank 2r) that fits the original base, from the adapter as it was before training.

PISSA_INIT = "pissa_init"
PISSA_CONVERTED = "pissa_converted"


def save_pissa_init(model, output_dir: str) -> Path:
    """Save the freshly initialised PiSSA adapter (before any step) to <output_dir>/pissa_init."""
    out = Path(output_dir) / PISSA_INIT
    config = model.peft_config["default"]
    init, config.init_lora_weights = config.init_lora_weights, True  # reloading it must not decompose again
    try:
        model.save_pretrained(out)
    finally:
        config.init_lora_weights = init
    log.info("pissa_convert: the initial PiSSA adapter is saved in %s", out)
    return out


def save_pissa_converted(model, output_dir: str) -> Path:
    """Write the trained PiSSA adapter as a plain LoRA adapter to <output_dir>/pissa_converted: the difference
    between the trained and the initial adapter, which applies to the original (not residual) base weights."""
    out = Path(output_dir) / PISSA_CONVERTED
    init = Path(output_dir) / PISSA_INIT
    if not (init / "adapter_config.json").is_file():
        raise ConfigError(f"pissa_convert: the initial adapter {init} is missing; it is written when training "
                          "starts with pissa_init: true and pissa_convert: true")
    active = model.active_adapter
    model.save_pretrained(out, path_initial_model_for_weight_conversion=str(init))
    model.set_adapter(active)  # PEFT loaded and deleted the initial adapter to compute the difference
    log.info("pissa_convert: the converted LoRA adapter (for the original base model) is saved in %s", out)
    return out


def _refuse_unconverted_pissa(path: str, subfolder: str | None) -> None:
    """A PiSSA adapter saved as trained fits only the residual base built when its training began; on
    model_name_or_path it computes another model (merged, a 23-32% relative change of the weights)."""
    config_file = Path(path) / (subfolder or "") / "adapter_config.json"
    if not config_file.is_file():
        return  # a hub adapter: PEFT reports what it cannot load
    init = json.loads(config_file.read_text(encoding="utf-8")).get("init_lora_weights")
    if isinstance(init, str) and init.lower().startswith("pissa"):
        converted = Path(path) / PISSA_CONVERTED
        fix = f"use {converted} instead" if converted.is_dir() else \
            "train it with pissa_convert: true and use <output_dir>/pissa_converted"
        raise ConfigError(f"adapter_name_or_path: {path} is a PiSSA adapter saved unconverted "
                          f"(init_lora_weights={init}); it fits only the residual weights built when its "
                          f"training began, not model_name_or_path: {fix}")
