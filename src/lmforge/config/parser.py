"""From a YAML/JSON file and command-line overrides to one validated `Config`.

Every value passes through here exactly once. A bad key, type, range or combination raises `ConfigError`
with a message that names the key, the bad value and what would be accepted.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import re
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from lmforge.config.data import DataArguments
from lmforge.config.evaluation import EvaluationArguments
from lmforge.config.finetuning import FinetuningArguments, LoraArguments, validate_finetuning
from lmforge.config.generation import GeneratingArguments
from lmforge.config.model import ModelArguments, special_token_descriptions
from lmforge.errors import ConfigError, did_you_mean

# transformers is heavy to import; the training-arguments class is looked up lazily.
_TRAINING_CLS: type | None = None


def training_arguments_cls() -> type:
    global _TRAINING_CLS
    if _TRAINING_CLS is None:
        from transformers import Seq2SeqTrainingArguments

        _TRAINING_CLS = Seq2SeqTrainingArguments
    return _TRAINING_CLS


# Keys that transformers 5 renamed or dropped but LLaMA-Factory configs still carry.
# key -> (new key or None, how the value is carried over)
LEGACY_KEYS = {
    "warmup_ratio": "warmup_steps",  # transformers 5: a float warmup_steps < 1 is a ratio of total steps
    "evaluation_strategy": "eval_strategy",
    "no_cuda": "use_cpu",
}
# Keys lmforge handles itself (not part of any arguments dataclass).
RUN_KEYS = {
    "overwrite_output_dir": (False, "Start over when output_dir already holds checkpoints."),
    "logging_dir": (None, "TensorBoard log folder (default: output_dir/runs)."),
    "save_safetensors": (True, "Kept for compatibility: weights are always saved as safetensors."),
}


@dataclass
class Config:
    model: ModelArguments
    data: DataArguments
    finetuning: FinetuningArguments
    generation: GeneratingArguments
    training: Any  # transformers.Seq2SeqTrainingArguments
    overwrite_output_dir: bool = False
    logging_dir: str | None = None
    user_keys: tuple[str, ...] = ()  # keys the user set, after legacy renames
    training_values: dict[str, Any] = dataclasses.field(default_factory=dict)  # what built `training`
    evaluation: EvaluationArguments = dataclasses.field(default_factory=EvaluationArguments)


def argument_groups() -> list[tuple[str, type]]:
    return [
        ("model", ModelArguments),
        ("data", DataArguments),
        ("finetuning", FinetuningArguments),
        ("generation", GeneratingArguments),
        ("evaluation", EvaluationArguments),
        ("training", training_arguments_cls()),
    ]


def _field_table() -> dict[str, tuple[str, dataclasses.Field, Any]]:
    """key -> (group name, field, resolved type annotation)."""
    table: dict[str, tuple[str, dataclasses.Field, Any]] = {}
    for group, cls in argument_groups():
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            if not f.init or f.name in table:
                continue
            table[f.name] = (group, f, hints[f.name])
    return table


# ---------------------------------------------------------------------------------------------------------
# reading the command line and files


def read_config_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file '{path}' not found")
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of key: value, got a {type(data).__name__}")
    return data


def _is_bool_field(key: str, table) -> bool:
    return key in table and _kind(table[key][2]) == "bool"


def parse_argv(argv: list[str]) -> dict[str, Any]:
    """`[config.yaml|json] [key=value | --key value | --key=value | --flag]...` -> raw dict (file first)."""
    table = _field_table()
    raw: dict[str, Any] = {}
    tokens = list(argv)
    if tokens and not tokens[0].startswith("--") and "=" not in tokens[0]:
        raw.update(read_config_file(tokens.pop(0)))
    overrides: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            body = token[2:]
            if "=" in body:
                key, value = body.split("=", 1)
                i += 1
            else:
                key = body
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                takes_value = nxt is not None and not nxt.startswith("--")
                if takes_value and _is_bool_field(key, table) and nxt.lower() not in _BOOL_WORDS:
                    takes_value = False  # `--do_train stage=sft`: a bare flag followed by another override
                value = nxt if takes_value else "true"
                i += 2 if takes_value else 1
        elif "=" in token:
            key, value = token.split("=", 1)
            i += 1
        else:
            raise ConfigError(
                f"unexpected argument '{token}': overrides are written key=value, --key value or --key=value"
                " (a config file, if any, must come first)")
        overrides[key.replace("-", "_") if key.replace("-", "_") in table else key] = value
    raw.update(overrides)
    return raw


# ---------------------------------------------------------------------------------------------------------
# types


_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False, "on": True,
               "off": False}
_NONE_WORDS = {"null", "none", "~"}


def _union_args(tp: Any) -> tuple:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _kind(tp: Any) -> str:
    """The one kind a value of this annotation is coerced to: bool, int, float, list, dict, enum or str."""
    members = [a for a in _union_args(tp) if a is not type(None)]
    origins = [typing.get_origin(a) or a for a in members]
    if bool in origins and str not in origins:
        return "bool"
    if list in origins and str not in origins:
        return "list"
    for name, t in (("int", int), ("float", float)):
        if t in origins:
            return name
    if dict in origins and str not in origins:
        return "dict"
    if any(isinstance(o, type) and issubclass(o, enum.Enum) for o in origins):
        return "enum"
    return "str"


def _list_item_type(tp: Any) -> Any:
    for a in _union_args(tp):
        if typing.get_origin(a) is list:
            (item,) = typing.get_args(a) or (str,)
            return item
    return str


def _enum_choices(tp: Any) -> list[str] | None:
    for a in _union_args(tp):
        if isinstance(a, type) and issubclass(a, enum.Enum):
            return [e.value for e in a]
    return None


def _optional(tp: Any) -> bool:
    return type(None) in _union_args(tp)


def coerce(key: str, value: Any, tp: Any) -> Any:
    """Convert a YAML or command-line value to the field's type, or raise ConfigError naming the key."""
    kind = _kind(tp)
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS and kind != "str"):
        if _optional(tp) or kind == "str":
            return None
        raise ConfigError(f"{key}: a value is required here (got null); expected {_describe(kind)}")
    if kind == "str" and value in ("null", "~", "None") and _optional(tp):
        return None  # but not "none": `report_to: none` is a value
    try:
        return _coerce(value, kind, tp)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: expected {_describe(kind)}, got {value!r}") from None


def _describe(kind: str) -> str:
    return {"bool": "true or false", "int": "an integer", "float": "a number", "list": "a comma separated list",
            "dict": "a mapping (YAML mapping or JSON object)", "enum": "one of the listed names",
            "str": "a string"}[kind]


def _coerce(value: Any, kind: str, tp: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        raise ValueError
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float) and float(value).is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            number = float(value)  # accepts "1e3"
            if number.is_integer():
                return int(number)
        if float in [typing.get_origin(a) or a for a in _union_args(tp)]:
            return float(value)
        raise ValueError
    if kind == "float":
        if isinstance(value, bool):
            raise TypeError
        return float(value)  # also YAML 1.1's strings like "1e-4"
    if kind == "list":
        item = _list_item_type(tp)
        items = value if isinstance(value, list | tuple) else [v for v in str(value).split(",")]
        items = [v.strip() if isinstance(v, str) else v for v in items]
        items = [v for v in items if v != ""]
        return [float(v) if item is float else int(v) if item is int else str(v) for v in items]
    if kind == "dict":
        if isinstance(value, dict):
            return value
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise ValueError
        return parsed
    if kind == "enum":
        return str(value.value if isinstance(value, enum.Enum) else value)
    # str: YAML may have produced a number or a bool (`template: 1`, `report_to: none`); keep text form
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------------------
# building and validating


def load_config(raw: dict[str, Any], *, command: str = "train") -> Config:
    """Validate a raw dict (file + overrides) into a Config. `command` selects command-specific checks."""
    table = _field_table()
    raw = _apply_legacy_keys(dict(raw), table)
    unknown = [k for k in raw if k not in table and k not in RUN_KEYS]
    if unknown:
        key = unknown[0]
        options = list(table) + list(RUN_KEYS) + list(LEGACY_KEYS)
        more = f" (and {len(unknown) - 1} more: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise ConfigError(f"unknown key '{key}'{did_you_mean(key, options)}{more}")

    values: dict[str, dict[str, Any]] = {group: {} for group, _ in argument_groups()}
    run: dict[str, Any] = {k: default for k, (default, _) in RUN_KEYS.items()}
    for key, value in raw.items():
        if key in RUN_KEYS:
            run[key] = value
            continue
        group, f, tp = table[key]
        value = coerce(key, value, tp)
        _check_choice(key, value, f, tp)
        _check_supported(key, value, f)
        values[group][key] = value
    run["overwrite_output_dir"] = coerce("overwrite_output_dir", run["overwrite_output_dir"], bool)
    if coerce("save_safetensors", run["save_safetensors"], bool) is not True:
        raise ConfigError("save_safetensors: lmforge always saves safetensors; remove the key or set it true")

    _defaults_before_build(values, command)
    _require_deepspeed(values["training"])
    groups = {g: cls(**values[g]) for g, cls in argument_groups() if g != "training"}
    training = _build_training_arguments(values["training"])
    config = Config(training=training, overwrite_output_dir=run["overwrite_output_dir"],
                    logging_dir=run["logging_dir"], user_keys=tuple(raw),
                    training_values=dict(values["training"]), **groups)
    validate(config, command)
    _resolve_derived(config)
    return config


def _resolve_derived(cfg: Config) -> None:
    """Fill the values whose default depends on other keys, so the saved config states them."""
    d, f = cfg.data, cfg.finetuning
    if f.lora_alpha is None:
        f.lora_alpha = 2 * f.lora_rank
    if d.neat_packing:
        d.packing = True
    if d.packing is None:
        d.packing = f.stage == "pt"


def _apply_legacy_keys(raw: dict[str, Any], table) -> dict[str, Any]:
    for old, new in LEGACY_KEYS.items():
        if old not in raw:
            continue
        if new in raw and raw[new] not in (None, 0, "0", False):
            raise ConfigError(f"{old} and {new} are both set; {old} is the old spelling of {new}, keep one")
        raw[new] = raw.pop(old)
    return raw


def _check_choice(key: str, value: Any, f: dataclasses.Field, tp: Any) -> None:
    choices = f.metadata.get("choices") or _enum_choices(tp)
    if not choices or value is None:
        return
    if value not in choices:
        shown = ", ".join(str(c) for c in choices if c is not None)
        hint = did_you_mean(str(value), [str(c) for c in choices])
        raise ConfigError(f"{key}: '{value}' is not accepted; choose one of: {shown}{hint}")


def _check_supported(key: str, value: Any, f: dataclasses.Field) -> None:
    reason = f.metadata.get("unsupported")
    if reason and value != _default_of(f):
        raise ConfigError(f"{key}: {reason}; remove '{key}' from the config (it is accepted only at its default)")


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _defaults_before_build(values: dict[str, dict[str, Any]], command: str) -> None:
    training = values["training"]
    if command == "train" and not any(training.get(k) for k in ("do_train", "do_eval", "do_predict")):
        # LLaMA-Factory silently trains nothing when do_train is missing; lmforge train trains.
        training["do_train"] = True
    training.setdefault("output_dir", "saves/lmforge-run")
    if values["finetuning"].get("pure_bf16"):
        training["bf16"] = False  # weights are bf16 already: no autocast, no fp32 master copy
    # our collators pick the columns each stage needs (chosen_*, kl_*, ...); the Trainer must not drop them
    training.setdefault("remove_unused_columns", False)
    if values["finetuning"].get("stage") == "grpo":  # sample from the policy's own distribution (TRL's defaults)
        for key, value in (("temperature", 1.0), ("top_p", 1.0), ("top_k", 0)):
            values["generation"].setdefault(key, value)
    if values["finetuning"].get("disable_shuffling"):
        training.setdefault("train_sampling_strategy", "sequential")
    if "use_cpu" not in training and not _accelerator_available():
        # transformers refuses bf16 without a GPU unless use_cpu is set; on a CPU-only machine that is
        # where training runs anyway, so the same config works on a laptop and on a GPU node.
        training["use_cpu"] = True


def _require_deepspeed(training: dict[str, Any]) -> None:
    """transformers checks for DeepSpeed while it builds the training arguments, with a traceback."""
    import importlib.util

    if training.get("deepspeed") and importlib.util.find_spec("deepspeed") is None:
        raise ConfigError(f"deepspeed: '{training['deepspeed']}' is set but DeepSpeed is not installed: "
                          "pip install 'lmforge[deepspeed]', or remove deepspeed to train without it")


def _accelerator_available() -> bool:
    import torch

    return torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available()) or \
        torch.backends.mps.is_available()


def _build_training_arguments(values: dict[str, Any]) -> Any:
    cls = training_arguments_cls()
    try:
        return cls(**values)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"training arguments: {e}") from None


# ---------------------------------------------------------------------------------------------------------
# ranges and combinations

_RANGES: list[tuple[str, str, Any, str]] = [
    # (group, key, predicate, what is accepted)
    ("data", "cutoff_len", lambda v: v >= 1, "an integer >= 1"),
    ("data", "val_size", lambda v: v >= 0, "a fraction in (0, 1) or a row count >= 1 (0 = no split)"),
    ("data", "max_samples", lambda v: v is None or v >= 1, "an integer >= 1"),
    ("data", "preprocessing_num_workers", lambda v: v is None or v >= 1, "an integer >= 1"),
    ("data", "buffer_size", lambda v: v >= 1, "an integer >= 1"),
    ("finetuning", "lora_rank", lambda v: v >= 1, "an integer >= 1"),
    ("finetuning", "lora_alpha", lambda v: v is None or v > 0, "a number > 0"),
    ("finetuning", "lora_dropout", lambda v: 0 <= v < 1, "a number in [0, 1)"),
    ("finetuning", "loraplus_lr_ratio", lambda v: v is None or v > 0, "a number > 0"),
    ("finetuning", "freeze_trainable_layers", lambda v: v != 0, "a non-zero integer"),
    ("finetuning", "pref_beta", lambda v: v > 0, "a number > 0"),
    ("finetuning", "pref_ftx", lambda v: v >= 0, "a number >= 0"),
    ("finetuning", "dpo_label_smoothing", lambda v: 0 <= v <= 0.5, "a number in [0, 0.5]"),
    ("finetuning", "ld_alpha", lambda v: v is None or 0 <= v <= 1, "a number in [0, 1]"),
    ("finetuning", "kto_chosen_weight", lambda v: v > 0, "a number > 0"),
    ("finetuning", "kto_rejected_weight", lambda v: v > 0, "a number > 0"),
    ("finetuning", "num_generations", lambda v: v >= 2, "an integer >= 2 (a group needs two completions)"),
    ("finetuning", "max_completion_length", lambda v: v >= 1, "an integer >= 1"),
    ("finetuning", "beta", lambda v: v >= 0, "a number >= 0"),
    ("finetuning", "epsilon", lambda v: v > 0, "a number > 0"),
    ("finetuning", "epsilon_high", lambda v: v is None or v > 0, "a number > 0"),
    ("finetuning", "num_iterations", lambda v: v >= 1, "an integer >= 1"),
    ("generation", "temperature", lambda v: v > 0, "a number > 0"),
    ("generation", "top_p", lambda v: 0 < v <= 1, "a number in (0, 1]"),
    ("generation", "top_k", lambda v: v >= 0, "an integer >= 0"),
    ("generation", "num_beams", lambda v: v >= 1, "an integer >= 1"),
    ("generation", "max_new_tokens", lambda v: v >= 1, "an integer >= 1"),
    ("generation", "repetition_penalty", lambda v: v > 0, "a number > 0"),
    ("evaluation", "batch_size", lambda v: v >= 1, "an integer >= 1"),
    ("evaluation", "n_shot", lambda v: v >= 0, "an integer >= 0"),
    ("model", "export_size", lambda v: v >= 1, "an integer >= 1 (GB per shard)"),
    ("model", "vllm_gpu_util", lambda v: 0 < v <= 1, "a number in (0, 1]"),
    ("training", "learning_rate", lambda v: v > 0, "a number > 0"),
    ("training", "per_device_train_batch_size", lambda v: v >= 1, "an integer >= 1"),
    ("training", "per_device_eval_batch_size", lambda v: v >= 1, "an integer >= 1"),
    ("training", "gradient_accumulation_steps", lambda v: v >= 1, "an integer >= 1"),
    ("training", "num_train_epochs", lambda v: v > 0, "a number > 0"),
    ("training", "warmup_steps", lambda v: v >= 0, "a ratio in [0, 1) or a step count >= 1"),
]


def validate(cfg: Config, command: str = "train") -> None:
    for group, key, ok, accepted in _RANGES:
        value = getattr(getattr(cfg, group), key)
        if not ok(value):
            raise ConfigError(f"{key}: {value!r} is out of range; expected {accepted}")
    _validate_combinations(cfg, command)


def _conflict(msg: str) -> None:
    raise ConfigError(msg)


def _validate_combinations(cfg: Config, command: str) -> None:
    m, d, f, t = cfg.model, cfg.data, cfg.finetuning, cfg.training
    if m.quantization_bit is not None and f.finetuning_type != "lora":
        _conflict(f"quantization_bit={m.quantization_bit} with finetuning_type={f.finetuning_type}: quantised "
                  "training (QLoRA) trains LoRA adapters only; set finetuning_type: lora or remove quantization_bit")
    if m.adapter_name_or_path and f.finetuning_type != "lora":
        _conflict(f"adapter_name_or_path is set but finetuning_type={f.finetuning_type}: adapters are LoRA "
                  "adapters; set finetuning_type: lora, or export (merge) the adapter first")
    _check_quantization_bits(m, f)
    _check_adapter_paths(m)
    if f.pure_bf16 and t.fp16:
        _conflict("pure_bf16 and fp16 are both true; pure_bf16 trains in bf16, remove fp16")
    if d.mask_history and d.train_on_prompt:
        _conflict("mask_history and train_on_prompt are both true: mask_history trains only the last reply, "
                  "train_on_prompt trains the prompt too; keep one")
    if d.neat_packing and d.packing is False:
        _conflict("neat_packing: true with packing: false; neat_packing is packing without cross-example "
                  "attention, so it needs packing (remove packing: false)")
    if (d.packing or d.neat_packing) and f.stage not in PACKING_STAGES:
        stages = f"{', '.join(PACKING_STAGES[:-1])} and {PACKING_STAGES[-1]}"
        _conflict(f"packing with stage={f.stage}: packing is available for {stages} (padding-free batches) only; "
                  "remove packing")
    if d.interleave_probs is not None:
        if d.mix_strategy == "concat":
            _conflict("interleave_probs is set but mix_strategy is concat; use interleave_under or "
                      "interleave_over")
        n = len(d.dataset or [])
        if len(d.interleave_probs) != n:
            _conflict(f"interleave_probs has {len(d.interleave_probs)} values but dataset has {n} names")
    if f.use_dora and f.pissa_init:
        _conflict("use_dora and pissa_init are both true; PiSSA initialises plain LoRA, choose one")
    if f.pissa_convert and not f.pissa_init and command == "train":
        _conflict("pissa_convert: true without pissa_init: true; only a PiSSA-initialised adapter needs "
                  "converting: set pissa_init: true or remove pissa_convert")
    _validate_model_keys(cfg)
    _warn_unused_lora_keys(cfg)
    if command != "eval":
        stray = [k for k in cfg.user_keys if k in EVAL_KEYS]
        if stray:
            hint = "; per_device_train_batch_size / per_device_eval_batch_size set batch sizes here" \
                if "batch_size" in stray else ""
            _conflict(f"{', '.join(stray)}: key{'s' * (len(stray) > 1)} of `lmforge eval`, not of `lmforge {command}`"
                      f"{hint}")
    if command == "train":
        _validate_train(cfg)
    elif command in INFER_COMMANDS:
        _validate_infer(cfg, command)


def _validate_model_keys(cfg: Config) -> None:
    """Loading keys that act only together with others: an error, not a silent no-op, when alone."""
    m = cfg.model
    if special_token_descriptions(m) is None and m.init_special_tokens != "noise_init":
        _conflict(f"init_special_tokens: {m.init_special_tokens} initialises new tokens from their descriptions, "
                  "which come from new_special_tokens_config (a YAML file of token: description); set it, or use "
                  "init_special_tokens: noise_init")
    if m.quantization_device_map == "auto" and m.quantization_bit != 4:
        _conflict(f"quantization_device_map: auto with quantization_bit: {m.quantization_bit}; the auto device map "
                  "spreads an on-the-fly 4-bit (bitsandbytes) model over the devices: set quantization_bit: 4 or "
                  "remove quantization_device_map")
    if m.offload_folder != _default_of(_MODEL_FIELDS["offload_folder"]) and m.quantization_device_map != "auto":
        _conflict(f"offload_folder: '{m.offload_folder}' is used only with quantization_device_map: auto (weights "
                  "that fit on no device go to disk); lmforge loads other models whole on one device: remove "
                  "offload_folder or set quantization_device_map: auto with quantization_bit: 4")
    if not m.use_kv_cache and m.infer_backend != "huggingface":
        _conflict(f"use_kv_cache: false with infer_backend: {m.infer_backend}; that engine always keeps a KV cache: "
                  "remove use_kv_cache or use infer_backend: huggingface")


_MODEL_FIELDS = {f.name: f for f in fields(ModelArguments)}
_WARNED: set[str] = set()


def _warn_unused_lora_keys(cfg: Config) -> None:
    """LoRA keys under finetuning_type full / freeze change nothing: say so (once per process)."""
    f = cfg.finetuning
    if f.finetuning_type not in ("full", "freeze"):
        return
    lora = [x.name for x in fields(LoraArguments) if getattr(f, x.name) != _default_of(x)
            and not (x.name == "lora_alpha" and f.lora_alpha == 2 * f.lora_rank)]  # as a resolved config states it
    message = (f"finetuning_type: {f.finetuning_type} trains no adapter, so these LoRA keys have no effect: "
               f"{', '.join(lora)}")
    if lora and message not in _WARNED:
        _WARNED.add(message)
        logging.getLogger("lmforge").warning(message)


def _check_quantization_bits(m, f) -> None:
    """On-the-fly quantisation is bitsandbytes' (4 or 8 bits; LLaMA-Factory's hqq and eetq methods are not
    implemented). Pre-quantised checkpoints (GPTQ, AWQ, ...) load as they are, without quantization_bit."""
    if m.quantization_bit is not None and m.quantization_method != "bnb":
        _conflict(f"quantization_method: {m.quantization_method} with quantization_bit={m.quantization_bit}: "
                  "lmforge quantises on the fly with bitsandbytes only (quantization_method: bnb); a "
                  "pre-quantised checkpoint loads without quantization_bit")
    for key, bits in (("quantization_bit", m.quantization_bit),
                      ("ref_model_quantization_bit", f.ref_model_quantization_bit)):
        if bits is not None and bits not in (4, 8):
            _conflict(f"{key}: {bits} is not accepted; bitsandbytes quantises to 4 or 8 bits")


# a hub model id: 'name' or 'namespace/name' (huggingface_hub's validate_repo_id, without importing it)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?")


def _check_adapter_paths(m) -> None:
    """Each adapter is a local folder holding adapter_config.json, or a name of a hub id's form; anything
    else (a path that is not there) is an error now, before the model loads."""
    for path in m.adapter_name_or_path or []:
        local = Path(path)
        if local.exists():
            folder = local / m.adapter_folder if m.adapter_folder else local
            if not (folder / "adapter_config.json").is_file():
                _conflict(f"adapter_name_or_path: '{folder}' holds no adapter_config.json, so it is no LoRA "
                          "adapter (a training output_dir holds one only once training finished and saved; "
                          "its checkpoint-N folders hold one each)")
        elif not _HUB_ID.fullmatch(path) or ".." in path or "--" in path:
            _conflict(f"adapter_name_or_path: no such folder: {path} (from {Path.cwd()}), and not a hub id "
                      "('namespace/name') either")


INFER_COMMANDS = ("chat", "api", "webchat", "export", "predict", "eval")
EVAL_KEYS = frozenset(f.name for f in fields(EvaluationArguments))
# stages that train on packed (pt, sft) or padding-free (rm, dpo, kto) batches with packing: true
PACKING_STAGES = ("pt", "sft", "rm", "dpo", "kto")


def _validate_infer(cfg: Config, command: str) -> None:
    """Checks for the commands that load a trained model: chat, api, webchat, export, predict, eval."""
    m = cfg.model
    if not m.model_name_or_path:
        _conflict(f"model_name_or_path is required for `lmforge {command}`: the base model (with "
                  "adapter_name_or_path for LoRA adapters) or a merged/fully fine-tuned model folder")
    if command == "export":
        if not m.export_dir:
            _conflict("export_dir is required for `lmforge export`: the folder the merged model is written to")
        if m.export_quantization_bit is not None:
            _conflict("export_quantization_bit: quantised (GPTQ) export is not implemented yet; export without "
                      "it and quantise the exported folder with your quantisation tool")
        if m.adapter_name_or_path and m.quantization_bit is not None:
            _conflict("quantization_bit with adapter_name_or_path in export: adapters cannot be merged into a "
                      "quantised model; remove quantization_bit so the base is loaded unquantised")
        return
    if command == "eval":
        if not cfg.evaluation.task:
            _conflict("`lmforge eval` needs task: the exam and split to score, e.g. task: mmlu_test "
                      "(ceval_validation, cmmlu_test, or a folder of your own under task_dir; docs/evaluation.md)")
        if m.infer_backend != "huggingface":
            _conflict(f"infer_backend: {m.infer_backend}; `lmforge eval` reads next-token logits with the "
                      "huggingface backend: remove infer_backend")
    if command == "predict" and not (cfg.data.dataset or cfg.data.eval_dataset):
        _conflict("`lmforge predict` needs data: set eval_dataset or dataset (names from dataset_info.json)")
    if command == "api" and cfg.finetuning.stage == "rm" and m.infer_backend != "huggingface":
        _conflict(f"stage: rm with infer_backend: {m.infer_backend}; a reward model is served by the Hugging "
                  "Face engine only (POST /v1/score/evaluation): use infer_backend: huggingface")
    _validate_backend(cfg)


def _validate_backend(cfg: Config) -> None:
    backend = cfg.model.infer_backend
    if backend == "sglang":
        _conflict("infer_backend: sglang is not implemented yet; use infer_backend: huggingface (the default) "
                  "or vllm")
    if backend == "vllm":
        from lmforge.config.optional import require_vllm

        require_vllm()  # a ConfigError with the install command


# the training-arguments optimiser each low-rank method runs as, by the configured optim
LOW_RANK_OPTIMIZERS = {
    "galore": {"adamw_torch": "galore_adamw", "adamw_torch_fused": "galore_adamw", "adamw_8bit": "galore_adamw_8bit",
               "adamw_bnb_8bit": "galore_adamw_8bit", "adafactor": "galore_adafactor"},
    "apollo": {"adamw_torch": "apollo_adamw", "adamw_torch_fused": "apollo_adamw"},
}


def low_rank_method(f) -> str | None:
    return "galore" if f.use_galore else "apollo" if f.use_apollo else None


def _validate_low_rank_optimizer(cfg: Config) -> None:
    f, t = cfg.finetuning, cfg.training
    method = low_rank_method(f)
    if method is None:
        return
    name = "GaLore" if method == "galore" else "APOLLO"
    if f.use_galore and f.use_apollo:
        _conflict("use_galore and use_apollo are both true; choose one optimiser")
    if f.finetuning_type == "lora":
        _conflict(f"use_{method}: true with finetuning_type: lora; {name} trains full weight matrices with a "
                  "low-rank optimiser state (LoRA's adapters are low-rank already): set finetuning_type: full "
                  "(or freeze)")
    if t.deepspeed:
        _conflict(f"use_{method}: true with deepspeed; {name} runs with torch's own optimiser loop (single GPU or "
                  "DDP): remove deepspeed")
    optim = _plain(t.optim)
    if optim not in LOW_RANK_OPTIMIZERS[method]:
        _conflict(f"use_{method}: true with optim: {optim}; {name} comes as "
                  f"{', '.join(sorted(set(LOW_RANK_OPTIMIZERS[method].values())))}, chosen by optim "
                  f"({', '.join(LOW_RANK_OPTIMIZERS[method])})")
    if getattr(f, f"{method}_layerwise") and t.gradient_accumulation_steps != 1:
        _conflict(f"{method}_layerwise: true with gradient_accumulation_steps: {t.gradient_accumulation_steps}; "
                  "layer-wise updates apply each gradient as soon as it exists, so they cannot accumulate: set "
                  "gradient_accumulation_steps: 1")


def _validate_muon(cfg: Config) -> None:
    f, t = cfg.finetuning, cfg.training
    if not f.use_muon:
        return
    for key, other in (("use_galore", "GaLore"), ("use_apollo", "APOLLO"), ("loraplus_lr_ratio", "LoRA+")):
        if getattr(f, key) not in (None, False):
            _conflict(f"use_muon: true with {key}; Muon and {other} each set up the whole optimiser: choose one")
    if t.deepspeed:
        _conflict("use_muon: true with deepspeed; Muon orthogonalises each whole weight matrix, which DeepSpeed's "
                  "partitioned optimiser never sees: remove deepspeed (single GPU or DDP)")
    if getattr(t, "fsdp", None):
        _conflict("use_muon: true with fsdp; Muon orthogonalises each whole weight matrix, which FSDP shards: "
                  "remove fsdp (single GPU or DDP)")
    optim = _plain(t.optim)
    if "optim" in cfg.user_keys and optim not in ("adamw_torch", "adamw_torch_fused"):
        _conflict(f"use_muon: true with optim: {optim}; Muon runs AdamW for the parameters it does not take: "
                  "remove optim (or set adamw_torch)")


def _validate_train(cfg: Config) -> None:
    m, d, f, t = cfg.model, cfg.data, cfg.finetuning, cfg.training
    if not m.model_name_or_path:
        _conflict("model_name_or_path is required: a local model folder or a hub id")
    if t.do_train and not d.dataset and not d.tokenized_path:
        _conflict("dataset is required for training: name one or more datasets from dataset_info.json "
                  "(e.g. dataset: alpaca_en_demo)")
    if (t.do_predict or t.do_eval) and not t.do_train and not (d.val_size > 0 or d.eval_dataset):
        _conflict("do_predict / do_eval need evaluation data: set eval_dataset (or val_size)")
    if t.predict_with_generate and t.do_train:
        _conflict("predict_with_generate: true with do_train: true; generation-based prediction runs "
                  "without training: run it as a separate command with do_predict: true")
    if t.do_predict and t.predict_with_generate and m.infer_backend != "huggingface":
        _validate_backend(cfg)  # the prediction runs on that engine (`lmforge predict`)
    if _plain(t.eval_strategy) != "no" and not (d.val_size > 0 or d.eval_dataset):
        _conflict(f"eval_strategy={_plain(t.eval_strategy)} but there is no evaluation data; set val_size "
                  "(e.g. 0.1) or eval_dataset, or set eval_strategy: no")
    if m.use_unsloth and not m.disable_gradient_checkpointing and m.use_reentrant_gc:
        # LLaMA-Factory's use_unsloth loads through Unsloth with use_gradient_checkpointing="unsloth" (its
        # offloaded checkpointing); lmforge's own version of that is use_unsloth_gc
        m.use_unsloth_gc = True
    if m.use_unsloth_gc and "disable_gradient_checkpointing" in cfg.user_keys and m.disable_gradient_checkpointing:
        _conflict("use_unsloth_gc: true with disable_gradient_checkpointing: true; offloaded checkpointing is a "
                  "form of gradient checkpointing, keep one")
    if m.use_unsloth_gc and not m.use_reentrant_gc:
        _conflict("use_unsloth_gc: true with use_reentrant_gc: false; the offload moves what reentrant "
                  "checkpointing saves, so keep use_reentrant_gc: true (the default)")
    _validate_low_rank_optimizer(cfg)
    _validate_muon(cfg)
    validate_finetuning(f, t)
    if m.offload_embedding and f.finetuning_type != "lora":
        _conflict(f"offload_embedding: true with finetuning_type={f.finetuning_type}; the table on the CPU must "
                  "stay frozen, which LoRA guarantees; set finetuning_type: lora or offload_embedding: false")
    _validate_grpo(cfg)
    if f.stage == "ppo" and not f.reward_model:
        _conflict("stage: ppo needs reward_model (a reward model trained with stage: rm)")
    if cfg.training.resume_from_checkpoint and not Path(cfg.training.resume_from_checkpoint).is_dir():
        _conflict(f"resume_from_checkpoint: '{cfg.training.resume_from_checkpoint}' is not a checkpoint folder")


GRPO_KEYS = ("num_generations", "max_completion_length", "beta", "epsilon", "epsilon_high", "num_iterations",
             "loss_type", "scale_rewards", "reward_funcs", "reward_weights")


def _validate_grpo(cfg: Config) -> None:
    d, f, t = cfg.data, cfg.finetuning, cfg.training
    if f.stage != "grpo":  # (a saved config states every key at its default: those are not stray)
        defaults = {x.name: _default_of(x) for x in fields(f) if x.name in GRPO_KEYS}
        stray = [k for k in GRPO_KEYS if k in cfg.user_keys and getattr(f, k) != defaults[k]]
        if stray:
            _conflict(f"{', '.join(stray)}: key{'s' * (len(stray) > 1)} of stage grpo, but stage is {f.stage}")
        return
    if not f.reward_funcs:
        _conflict("stage: grpo needs reward_funcs: built-in accuracy and/or format, or your own as "
                  "package.module:function or path/to/file.py:function (docs/training.md)")
    for spec in f.reward_funcs:
        if spec not in ("accuracy", "format") and not spec.rpartition(":")[0]:
            _conflict(f"reward_funcs: '{spec}' is not a built-in reward (accuracy, format) nor of the form "
                      "package.module:function or path/to/file.py:function")
    if f.reward_weights is not None and len(f.reward_weights) != len(f.reward_funcs):
        _conflict(f"reward_weights has {len(f.reward_weights)} values but reward_funcs has {len(f.reward_funcs)} "
                  "functions; give one weight per function")
    if f.ref_model is not None and f.beta == 0:
        _conflict("ref_model with beta: 0 in stage grpo; the reference only enters the KL term: set beta > 0 "
                  "(e.g. 0.04) or remove ref_model")
    if not cfg.generation.do_sample:
        _conflict("do_sample: false with stage: grpo; a group of greedy completions is one completion repeated "
                  "(no advantage to learn from): remove do_sample")
    if "max_new_tokens" in cfg.user_keys and cfg.generation.max_new_tokens != _default_of(
            next(x for x in fields(cfg.generation) if x.name == "max_new_tokens")):
        _conflict("max_new_tokens with stage: grpo; the completion length is max_completion_length")
    if d.streaming:
        _conflict("streaming with stage: grpo; prompts are loaded whole (remove streaming)")
    if t.do_eval or d.val_size > 0 or d.eval_dataset or t.do_predict:
        _conflict("stage: grpo does not evaluate or predict yet; remove do_eval / do_predict / val_size / "
                  "eval_dataset (score a trained model with `lmforge predict` or `lmforge eval`)")


# ---------------------------------------------------------------------------------------------------------
# writing the resolved config


def resolved_dict(cfg: Config) -> dict[str, Any]:
    """Every lmforge key with its value, plus the training arguments that were set (by the user or lmforge)."""
    out: dict[str, Any] = {}
    for group in ("model", "data", "finetuning", "generation"):
        obj = getattr(cfg, group)
        for f in fields(obj):
            out[f.name] = getattr(obj, f.name)
    # post-init values of TrainingArguments are derived (and not all re-parseable): keep the inputs
    out.update({k: _plain(v) for k, v in cfg.training_values.items()})
    out["overwrite_output_dir"] = cfg.overwrite_output_dir
    if cfg.logging_dir:
        out["logging_dir"] = cfg.logging_dir
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def save_config(cfg: Config, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Resolved by lmforge: `lmforge train <this file>` repeats this run.\n"
    path.write_text(header + yaml.safe_dump(resolved_dict(cfg), sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path
