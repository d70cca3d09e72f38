"""Load a tokenizer and a causal LM the way the config asks: hub or local, dtype, attention, quantisation."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

import torch

from lmforge.config import Config, ModelArguments
from lmforge.config.model import special_token_descriptions
from lmforge.errors import ConfigError
from lmforge.optional_imports import allow_bitsandbytes

log = logging.getLogger(__name__)


def resolve_model_path(name_or_path: str, margs: ModelArguments) -> str:
    """A local folder as is; a hub id through ModelScope when USE_MODELSCOPE_HUB=1, else left to HF. A path
    that can only be local (absolute, ./, ../, ~) and does not exist is an error at once, not a hub lookup."""
    if not Path(name_or_path).exists() and name_or_path.startswith(("/", "./", "../", "~", ".\\", "..\\")):
        tilde = " ('~' is not expanded: write the full path)" if name_or_path.startswith("~") else ""
        raise ConfigError(f"model_name_or_path: no such folder: {name_or_path} (from {Path.cwd()}){tilde}")
    if Path(name_or_path).exists() or os.environ.get("USE_MODELSCOPE_HUB", "0").lower() not in ("1", "true"):
        return name_or_path
    try:
        from modelscope import snapshot_download
    except ImportError:
        raise ConfigError("USE_MODELSCOPE_HUB=1 needs the modelscope package: pip install 'lmforge[modelscope]'") \
            from None
    revision = "master" if margs.model_revision == "main" else margs.model_revision
    return snapshot_download(name_or_path, revision=revision, cache_dir=margs.cache_dir)


def _not_here(name_or_path: str) -> str:
    """For an error message: a name that is no local folder was looked up on the hub; say so, with the folder
    it was not found in (a relative path is relative to where lmforge runs)."""
    if Path(name_or_path).exists():
        return ""
    return f" (no such folder in {Path.cwd()}, so it was looked up as a hub model id)"


def _hub_kwargs(margs: ModelArguments) -> dict[str, Any]:
    return {"cache_dir": margs.cache_dir, "revision": margs.model_revision, "token": margs.hf_hub_token,
            "trust_remote_code": margs.trust_remote_code}


def load_tokenizer(margs: ModelArguments):
    from transformers import AutoTokenizer

    path = resolve_model_path(margs.model_name_or_path, margs)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, use_fast=margs.use_fast_tokenizer,
                                                  split_special_tokens=margs.split_special_tokens,
                                                  padding_side="right", **_hub_kwargs(margs))
    except OSError as e:
        raise ConfigError(f"model_name_or_path: cannot load a tokenizer from '{margs.model_name_or_path}'"
                          f"{_not_here(margs.model_name_or_path)}: {e}") from None
    special = margs.add_special_tokens
    descriptions = special_token_descriptions(margs)
    if descriptions is not None:
        if special:
            log.warning("new_special_tokens_config replaces add_special_tokens: adding %s", list(descriptions))
        special = list(descriptions)
    before = set(tokenizer.get_vocab())
    if margs.add_tokens:
        tokenizer.add_tokens(margs.add_tokens)
    if special:
        tokenizer.add_special_tokens({"extra_special_tokens": special}, replace_extra_special_tokens=False)
    # which tokens are new: their embedding rows get initialised (models/embeddings.py)
    tokenizer.lmforge_added_tokens = [t for t in (margs.add_tokens or []) + (special or []) if t not in before]
    added = len(tokenizer.lmforge_added_tokens)
    if added:
        log.info("added %d tokens to the tokenizer", added)
        if not margs.resize_vocab:
            margs.resize_vocab = True
            log.warning("new tokens were added: resize_vocab is turned on so their embeddings exist")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def attention_implementation(flash_attn: str) -> str:
    """Map the config's flash_attn choice to a transformers attn_implementation that is installed."""
    has_fa = importlib.util.find_spec("flash_attn") is not None
    if flash_attn == "auto":
        return "flash_attention_2" if has_fa and torch.cuda.is_available() else "sdpa"
    if flash_attn in ("disabled", "eager"):
        return "eager"
    if flash_attn == "sdpa":
        return "sdpa"
    if flash_attn == "flex":
        return "flex_attention"
    if flash_attn == "fa2":
        if not has_fa:
            raise ConfigError("flash_attn: fa2 needs the flash-attn package (pip install flash-attn); "
                              "use flash_attn: sdpa or auto to run without it")
        return "flash_attention_2"
    if flash_attn == "fa3":
        if importlib.util.find_spec("flash_attn_interface") is None:
            raise ConfigError("flash_attn: fa3 needs FlashAttention-3 (flash_attn_interface); use auto or sdpa")
        return "flash_attention_3"
    raise ConfigError(f"flash_attn: unknown value '{flash_attn}'")


def compute_dtype(cfg: Config) -> torch.dtype:
    t = cfg.training
    if t.bf16 or cfg.finetuning.pure_bf16:
        return torch.bfloat16
    if t.fp16:
        return torch.float16
    return torch.float32


def _quantization_config(cfg: Config):
    bits = cfg.model.quantization_bit
    if bits is None:
        return None
    if cfg.model.quantization_method != "bnb":
        raise ConfigError(f"quantization_method: {cfg.model.quantization_method} on-the-fly quantisation is not "
                          "supported; load a pre-quantised checkpoint, or use quantization_method: bnb")
    if bits not in (4, 8):
        raise ConfigError(f"quantization_bit: bitsandbytes quantises to 4 or 8 bits, not {bits}")
    allow_bitsandbytes()
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("quantization_bit needs bitsandbytes: pip install 'lmforge[bnb]'")
    from transformers import BitsAndBytesConfig

    if bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=compute_dtype(cfg),
                              bnb_4bit_use_double_quant=cfg.model.double_quantization,
                              bnb_4bit_quant_type=cfg.model.quantization_type,
                              bnb_4bit_quant_storage=compute_dtype(cfg))


def load_model(cfg: Config, tokenizer, *, trainable: bool = True, head: str = "lm", packed: bool = False):
    """The causal LM (head="lm") or a reward model (head="score": the same network with a scalar head on
    the last token, saved in the standard sequence-classification format), with attention backend, dtype,
    quantisation, kernels and gradient checkpointing applied.

    packed=True loads it with lmforge's packed attention (models/attention.py): batches from the
    padding-free collator then keep every example to itself."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    auto_cls = AutoModelForCausalLM if head == "lm" else AutoModelForSequenceClassification

    margs = cfg.model
    path = resolve_model_path(margs.model_name_or_path, margs)
    hub = _hub_kwargs(margs)
    try:
        config = AutoConfig.from_pretrained(path, **hub)
    except OSError as e:
        raise ConfigError(f"model_name_or_path: cannot load a model config from '{margs.model_name_or_path}'"
                          f"{_not_here(margs.model_name_or_path)}: {e}") from None
    if _saved_quant_method(config) == "bitsandbytes":
        allow_bitsandbytes()  # a checkpoint saved quantised: transformers loads it through bitsandbytes
    from lmforge.media import is_vision_language

    if head == "lm" and is_vision_language(config):  # the whole VL model: vision tower, projector, LM
        from transformers import AutoModelForImageTextToText

        auto_cls = AutoModelForImageTextToText
    if head == "score":
        config.num_labels = 1
        config.pad_token_id = tokenizer.pad_token_id  # the score is read at the last non-pad token
    if margs.rope_scaling:
        _apply_rope_scaling(config, margs.rope_scaling, cfg.data.cutoff_len)
    dtype = compute_dtype(cfg)
    attn = attention_implementation(margs.flash_attn)
    if packed:
        from lmforge.models.attention import choose_backend, register_packed_attention

        backend = choose_backend(margs.flash_attn)
        attn = register_packed_attention(backend)
        log.info("packing: each example attends only to itself (packed attention through %s)", backend)
    if trainable and margs.enable_liger_kernel:
        from lmforge.models.kernels import check_liger

        check_liger()  # before the (slow) weights load
    kwargs: dict[str, Any] = {"config": config, "dtype": dtype, "attn_implementation": attn}
    quant = _quantization_config(cfg)
    if quant is not None:
        kwargs.update(quantized_placement(margs))
        kwargs["quantization_config"] = quant
    if margs.train_from_scratch:
        model = auto_cls.from_config(config, dtype=dtype,
                                                 attn_implementation=kwargs["attn_implementation"],
                                                 trust_remote_code=margs.trust_remote_code)
    else:
        model = auto_cls.from_pretrained(path, low_cpu_mem_usage=margs.low_cpu_mem_usage,
                                                     **kwargs, **hub)
    if margs.resize_vocab:
        from lmforge.models.embeddings import resize_and_initialise

        resize_and_initialise(model, tokenizer, method=margs.init_special_tokens,
                              descriptions=special_token_descriptions(margs))
    if trainable:
        if margs.enable_liger_kernel:
            from lmforge.models.kernels import apply_liger

            apply_liger(model)
        _prepare_for_training(model, cfg, quantized=quant is not None)
    else:
        model.eval()
        # use_kv_cache (LLaMA-Factory's key): generation keeps past keys/values, or recomputes the whole prefix
        # for every new token (slower, less memory); the tokens are the same either way
        model.config.use_cache = margs.use_kv_cache
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.use_cache = margs.use_kv_cache
    return model


def quantized_placement(margs: ModelArguments) -> dict[str, Any]:
    """Where a quantised model's weights go: all on this process's device, or with quantization_device_map:
    auto (as LLaMA-Factory, 4-bit only) spread over the visible GPUs and the CPU by accelerate, with what fits
    nowhere written to offload_folder."""
    if margs.quantization_device_map == "auto":
        return {"device_map": "auto", "offload_folder": margs.offload_folder}
    return {"device_map": {"": _local_device()}}


def _saved_quant_method(config) -> str | None:
    quant = getattr(config, "quantization_config", None)
    return quant.get("quant_method") if isinstance(quant, dict) else getattr(quant, "quant_method", None)


def _local_device() -> str:
    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return "cpu"


def _apply_rope_scaling(config, kind: str, cutoff_len: int) -> None:
    current = getattr(config, "max_position_embeddings", None)
    if not current or cutoff_len <= current:
        log.warning("rope_scaling=%s ignored: cutoff_len %d fits max_position_embeddings %s", kind, cutoff_len,
                    current)
        return
    factor = float(-(-cutoff_len // current))
    config.rope_scaling = {"rope_type": kind, "factor": factor, "original_max_position_embeddings": current}
    config.max_position_embeddings = current * int(factor)
    log.info("rope_scaling=%s with factor %.0f for cutoff_len %d", kind, factor, cutoff_len)


def _prepare_for_training(model, cfg: Config, *, quantized: bool) -> None:
    from lmforge.models.memory import enable_input_require_grads, plan_gradient_checkpointing

    margs = cfg.model
    model.config.use_cache = False  # a KV cache is useless in training and costs memory
    plan = plan_gradient_checkpointing(model, cfg)
    if quantized:
        from peft import prepare_model_for_kbit_training

        # checkpointing is switched on below, once, through transformers' current API (peft's own switch calls
        # the deprecated gradient_checkpointing_enable, a FutureWarning on every QLoRA run)
        prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    if plan.gradient_checkpointing and getattr(model, "supports_gradient_checkpointing", False):
        kwargs = {"use_reentrant": margs.use_reentrant_gc}
        if hasattr(model, "activation_checkpointing_enable"):  # newer transformers 5 (5.25): the old name warns
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:  # earlier transformers 5 releases have only the old name (5.17, on the GPU image)
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        # with frozen embeddings (LoRA) the checkpointed blocks need an input that requires grad
        enable_input_require_grads(model)
        log.info("gradient checkpointing: on (%s)", plan.reason)
    else:
        log.info("gradient checkpointing: off (%s)", plan.reason)
    if margs.upcast_layernorm:
        for name, param in model.named_parameters():
            if param.ndim == 1 and "norm" in name:
                param.data = param.data.to(torch.float32)
