"""Prompt datasets for RL stages, through the same dataset_info.json registry as every stage.

Each row becomes {input_ids: the rendered prompt up to the generation prompt, prompt: the last user
message's text, columns: the row's own columns}. The row's columns (e.g. `solution`, `answer`) are what
reward functions receive besides prompts and completions. A reference reply (alpaca `output`) is not part
of the prompt. Prompts longer than cutoff_len are left out (cutting a prompt would cut off its question).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from torch.utils.data import Dataset

from lmforge.data import formats
from lmforge.data.encoding import render_tokens
from lmforge.data.registry import get_dataset_specs
from lmforge.data.sources import load_rows
from lmforge.errors import DataError

log = logging.getLogger(__name__)

RESERVED = ("prompts", "completions", "completion_ids")  # names reward functions receive besides the columns


class PromptDataset(Dataset):
    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


def prompt_row(conv, row: dict, template, tokenizer, *, enable_thinking, default_system) -> dict[str, Any]:
    if conv.messages and conv.messages[-1].role == "assistant":
        conv = replace(conv, messages=conv.messages[:-1])  # the reference reply is not part of the prompt
    if not conv.messages:
        raise formats.InvalidRow("no messages", "no prompt")
    if default_system is not None and conv.system is None:
        conv = replace(conv, system=default_system)
    tokens = render_tokens(conv, template, tokenizer, enable_thinking=enable_thinking, add_generation_prompt=True)
    users = [m.content for m in conv.messages if m.role == "user"]
    columns = {k: v for k, v in row.items() if k not in RESERVED}
    return {"input_ids": tokens.ids, "prompt": users[-1] if users else "", "columns": columns}


def load_prompt_splits(cfg: Any, tokenizer: Any, template: Any, stage: str = "grpo"):
    """The training split for an RL stage (no evaluation split: the config refuses one)."""
    from lmforge.data.loader import DataSplits

    return DataSplits(train=load_prompt_dataset(cfg, tokenizer, template, stage))


def load_prompt_dataset(cfg: Any, tokenizer: Any, template: Any, stage: str = "grpo") -> PromptDataset:
    d, m = cfg.data, cfg.model
    specs = get_dataset_specs(d.dataset, d.dataset_dir, token=m.hf_hub_token)
    rows: list[dict[str, Any]] = []
    for spec in specs:
        if spec.ranking:
            raise DataError(f"{spec.describe()}: stage {stage} needs a prompt dataset; this one has ranking: true")
        source = load_rows(spec, cache_dir=m.cache_dir, hf_token=m.hf_hub_token, ms_token=m.ms_hub_token,
                           num_proc=d.preprocessing_num_workers, seed=cfg.training.seed, max_samples=d.max_samples)
        formats.check_columns(spec, list(source.dataset.column_names))
        skipped: dict[str, int] = {}
        for raw in source.dataset:
            try:
                conv = formats.row_to_conversation(raw, spec, d.media_dir or d.dataset_dir)
                formats.check_for_stage(conv, stage)
                row = prompt_row(conv, raw, template, tokenizer, enable_thinking=d.enable_thinking,
                                 default_system=d.default_system)
            except formats.InvalidRow as e:
                skipped[e.reason] = skipped.get(e.reason, 0) + 1
                continue
            if len(row["input_ids"]) > d.cutoff_len:
                skipped["prompt longer than cutoff_len"] = skipped.get("prompt longer than cutoff_len", 0) + 1
                continue
            rows.append(row)
        if skipped:
            log.warning("%s: skipped %s", spec.describe(), ", ".join(f"{n} rows ({r})" for r, n in skipped.items()))
    if not rows:
        raise DataError(f"stage {stage}: no usable prompts in {', '.join(d.dataset or [])}")
    log.info("%s: %d prompts", stage, len(rows))
    return PromptDataset(rows)
