"""Batch shapes: encoded examples (lists of ids) -> padded tensors, one collator per stage family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lmforge.train.losses import IGNORE_INDEX


def _pad(rows: list[list[int]], value: int, length: int) -> torch.Tensor:
    out = torch.full((len(rows), length), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def _target_length(rows: list[list[int]], multiple: int | None) -> int:
    longest = max(len(r) for r in rows)
    if multiple:
        longest = -(-longest // multiple) * multiple
    return longest


@dataclass
class PaddingCollator:
    """input_ids / labels (+ optional attention_mask) -> right-padded tensors; labels padded with -100."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids = [f["input_ids"] for f in features]
        length = _target_length(ids, self.pad_to_multiple_of)
        batch = {
            "input_ids": _pad(ids, self.pad_token_id, length),
            "attention_mask": _pad([[1] * len(r) for r in ids], 0, length),
        }
        if "labels" in features[0]:
            batch["labels"] = _pad([f["labels"] for f in features], IGNORE_INDEX, length)
        return batch


@dataclass
class PairwiseCollator:
    """chosen_* / rejected_* columns -> one batch of 2B rows: the B chosen rows first, then the B rejected."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows = [{"input_ids": f[f"{side}_input_ids"], "labels": f[f"{side}_labels"]}
                for side in ("chosen", "rejected") for f in features]
        return PaddingCollator(self.pad_token_id, self.pad_to_multiple_of)(rows)


@dataclass
class KTOCollator:
    """input_ids / labels, the mismatched kl_input_ids / kl_labels (for the KL reference point), kto_tags."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        pad = PaddingCollator(self.pad_token_id, self.pad_to_multiple_of)
        batch = pad([{"input_ids": f["input_ids"], "labels": f["labels"]} for f in features])
        kl = pad([{"input_ids": f["kl_input_ids"], "labels": f["kl_labels"]} for f in features])
        batch.update({f"kl_{k}": v for k, v in kl.items()})
        batch["kto_tags"] = torch.tensor([bool(f["kto_tags"]) for f in features])
        return batch
