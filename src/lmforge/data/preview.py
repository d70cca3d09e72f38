"""`lmforge preview CONFIG [overrides] [--rows N] [--json]`: what training will see.

Loads the tokenizer and template of the config, encodes the datasets exactly as training does (same
caches), and prints the first N examples decoded, with the tokens that carry loss marked, then the data
statistics. `--json` prints the same as one JSON object: the examples' id columns and the stats.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from typing import Any

from lmforge.errors import ConfigError
from lmforge.logs import log_to_stderr

USAGE = """\
usage: lmforge preview CONFIG [key=value ...] [--rows N] [--json]

Encode the config's datasets as training will and show the first N examples (default 3) with the tokens
that carry loss marked, then row and token statistics. --json prints them as JSON instead.
"""

IGNORE_INDEX = -100
_ANSI_LOSS, _ANSI_RESET = "\x1b[1;32m", "\x1b[0m"


def _parse(args: list[str]) -> tuple[int, bool, list[str]]:
    rows, as_json, rest = 3, False, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--json":
            as_json = True
        elif a == "--rows" or a.startswith("--rows="):
            if "=" in a:
                value = a.split("=", 1)[1]
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                value = ""
            if not value.isdigit():
                raise ConfigError(f"--rows: expected a number of examples, got {value!r}")
            rows = int(value)
        else:
            rest.append(a)
        i += 1
    return rows, as_json, rest


def _segments(ids: list[int], labels: list[int]) -> list[tuple[list[int], bool]]:
    """Consecutive runs of (token ids, carries loss)."""
    runs: list[tuple[list[int], bool]] = []
    for token, label in zip(ids, labels, strict=True):
        loss = label != IGNORE_INDEX
        if runs and runs[-1][1] == loss:
            runs[-1][0].append(token)
        else:
            runs.append(([token], loss))
    return runs


def marked_text(ids: list[int], labels: list[int], tokenizer: Any, color: bool) -> str:
    """The decoded sequence with loss-bearing spans wrapped in [[...]] (or coloured on a terminal)."""
    out = []
    for tokens, loss in _segments(ids, labels):
        text = tokenizer.decode(tokens, skip_special_tokens=False)
        if loss:
            text = f"{_ANSI_LOSS}{text}{_ANSI_RESET}" if color else f"[[{text}]]"
        out.append(text)
    return "".join(out)


def _sequences(example: dict[str, Any]) -> list[tuple[str, list[int], list[int]]]:
    """(title, ids, labels) of each aligned sequence in an encoded example."""
    out = []
    for prefix, title in (("", ""), ("chosen_", "chosen"), ("rejected_", "rejected"), ("kl_", "kl")):
        ids, labels = example.get(f"{prefix}input_ids"), example.get(f"{prefix}labels")
        if ids is None or labels is None:
            continue
        out.append((title, ids, labels))
    return out


def format_example(n: int, example: dict[str, Any], tokenizer: Any, color: bool) -> str:
    lines = [f"--- example {n} ---"]
    for title, ids, labels in _sequences(example):
        head = f"[{title}] " if title else ""
        if len(ids) != len(labels):  # unsupervised: labels are the reference reply
            lines.append(f"{head}prompt ({len(ids)} tokens):\n{tokenizer.decode(ids, skip_special_tokens=False)}")
            lines.append(f"{head}reference reply ({len(labels)} tokens):\n"
                         f"{marked_text(labels, labels, tokenizer, color)}")
        else:
            n_loss = sum(1 for x in labels if x != IGNORE_INDEX)
            lines.append(f"{head}{len(ids)} tokens, {n_loss} with loss:\n{marked_text(ids, labels, tokenizer, color)}")
    if "kto_tags" in example:
        lines.append(f"kto_tag: {example['kto_tags']}")
    return "\n".join(lines)


def main(args: list[str]) -> int:
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    from lmforge.config import load_config, parse_argv

    rows, as_json, rest = _parse(args)
    cfg = load_config(parse_argv(rest), command="preview")
    m, d = cfg.model, cfg.data
    if not m.model_name_or_path:
        raise ConfigError("model_name_or_path is required: preview loads its tokenizer")
    if not d.dataset and not d.eval_dataset and not d.tokenized_path:
        raise ConfigError("dataset is required: name one or more datasets from dataset_info.json")
    log_to_stderr()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from transformers import AutoTokenizer

    from lmforge.data.loader import load_datasets
    from lmforge.templates import get_template

    tokenizer = AutoTokenizer.from_pretrained(m.model_name_or_path, cache_dir=m.cache_dir,
                                              use_fast=m.use_fast_tokenizer, revision=m.model_revision,
                                              token=m.hf_hub_token, trust_remote_code=m.trust_remote_code)
    stage = cfg.finetuning.stage
    template = None if stage == "pt" else get_template(d.template, tokenizer, d.tool_format,
                                                       default_system=d.default_system)
    from lmforge.media import load_media_setup  # a VL template: its plugin expands the image placeholders

    media = load_media_setup(d.template, m.model_name_or_path, tokenizer, image_max_pixels=m.image_max_pixels,
                             image_min_pixels=m.image_min_pixels)
    splits = load_datasets(cfg, tokenizer, template, stage, media.plugin if media else None)
    shown = splits.train
    if shown is None:
        shown = next(iter(splits.eval.values())) if isinstance(splits.eval, dict) else splits.eval
    examples = [dict(e) for e in itertools.islice(iter(shown), rows)]

    if as_json:
        json.dump({"stage": stage, "examples": examples, "stats": splits.stats.to_dict()}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    legend = f"{_ANSI_LOSS}green{_ANSI_RESET}" if color else "[[...]]"
    print(f"stage {stage}, template {d.template or '(tokenizer chat_template)'}, cutoff_len {d.cutoff_len}")
    print(f"legend: {legend} = tokens that carry loss (labels != -100); everything else is context only\n")
    for n, example in enumerate(examples):
        print(format_example(n, example, tokenizer, color))
        print()
    print("statistics:")
    print(splits.stats.format())
    return 0
