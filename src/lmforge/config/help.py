"""`lmforge <command> --help`: every key with its default, choices and help, grouped by concern."""

from __future__ import annotations

import dataclasses
import textwrap

from lmforge.config.parser import RUN_KEYS, argument_groups

_TITLES = {
    "model": "Model",
    "data": "Data",
    "finetuning": "Fine-tuning (stage, method, LoRA, freeze, preference, optimisers)",
    "generation": "Generation",
    "evaluation": "Evaluation (lmforge eval)",
    "training": "Training (transformers' TrainingArguments)",
}


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default) if isinstance(f.default, str) else str(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return str(f.default_factory())
    return "required"


def format_help(command: str) -> str:
    lines = [f"usage: lmforge {command} [config.yaml] [key=value | --key value | --key=value ...]", ""]
    for group, cls in argument_groups():
        lines.append(f"{_TITLES[group]}:")
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            help_text = (f.metadata.get("help") or "").strip().replace("\n", " ")
            choices = f.metadata.get("choices")
            note = f"  [default: {_default_text(f)}]"
            if choices:
                note += "  {" + ",".join(str(c) for c in choices if c is not None) + "}"
            if f.metadata.get("unsupported"):
                note += "  (not implemented yet)"
            lines.append(f"  {f.name}{note}")
            if help_text:
                lines.extend(textwrap.wrap(help_text, width=100, initial_indent="      ",
                                           subsequent_indent="      "))
        lines.append("")
    lines.append("Compatibility keys:")
    for key, (default, help_text) in RUN_KEYS.items():
        lines.append(f"  {key}  [default: {default}]")
        lines.append(f"      {help_text}")
    lines.append("  warmup_ratio, evaluation_strategy, no_cuda")
    lines.append("      Old spellings of warmup_steps (as a ratio), eval_strategy and use_cpu.")
    return "\n".join(lines)
