"""Batch shapes: encoded examples (lists of ids) -> tensors, one collator per stage family.

PaddingCollator right-pads a batch into [B, T]. PackedCollator (packing: true) lays the whole batch out as
ONE row of real tokens, [1, N], with no padding at all, and tells attention where each example starts
(cu_seq_lens); see data/packing.py and models/attention.py. PackedPairwiseCollator and PackedKTOCollator
do the same for the batches of rm / dpo and kto.
"""

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
        return _with_ref_logps(PaddingCollator(self.pad_token_id, self.pad_to_multiple_of)(_pair_rows(features)),
                               features)


def _pair_rows(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs -> sequences: the B chosen ones, then the B rejected ones."""
    return [{"input_ids": f[f"{side}_input_ids"], "labels": f[f"{side}_labels"]}
            for side in ("chosen", "rejected") for f in features]


def _with_ref_logps(batch: dict[str, Any], features: list[dict[str, Any]]) -> dict[str, Any]:
    """precompute_ref_logps: the pairs' reference log-probs as `ref_logps`, in the order of _pair_rows."""
    if "ref_chosen_logps" in features[0]:
        batch["ref_logps"] = torch.tensor([f[f"ref_{side}_logps"] for side in ("chosen", "rejected")
                                           for f in features], dtype=torch.float32)
    return batch


@dataclass
class KTOCollator:
    """input_ids / labels, the mismatched kl_input_ids / kl_labels (for the KL reference point), kto_tags."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return _kto_batch(PaddingCollator(self.pad_token_id, self.pad_to_multiple_of), features)


def _kto_batch(collate, features: list[dict[str, Any]]) -> dict[str, Any]:
    """The examples and, under kl_* keys, their mismatched KL examples, each set through `collate`; kto_tags."""
    batch = collate([{"input_ids": f["input_ids"], "labels": f["labels"]} for f in features])
    kl = collate([{"input_ids": f["kl_input_ids"], "labels": f["kl_labels"]} for f in features])
    batch.update({f"kl_{k}": v for k, v in kl.items()})
    batch["kto_tags"] = torch.tensor([bool(f["kto_tags"]) for f in features])
    return batch


@dataclass
class PackedCollator:
    """Padding-free batches: every example of every feature, back to back in one row [1, N].

    A feature is one example, or a packed row (data/packing.py) whose `position_ids` restart at 0 at every
    example. Outputs:

    - input_ids, labels, position_ids: [1, N]. The label of each example's first token is set to -100:
      in the padded layout it is never predicted (the shift drops it), and here it would otherwise be
      predicted from the previous example's last token.
    - cu_seq_lens_q / cu_seq_lens_k: int32 [n_examples + 1], the examples' start offsets and N;
      max_length_q / max_length_k: the longest example. transformers hands these keyword arguments to the
      attention function (FlashAttentionKwargs), which keeps every example to itself.

    No attention_mask: there is nothing to mask but the example boundaries.
    """

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        ids, labels, positions = [], [], []
        for f in features:
            row = list(f["input_ids"])
            ids += row
            labels += list(f["labels"]) if "labels" in f else row
            positions += list(f["position_ids"]) if f.get("position_ids") is not None else range(len(row))
        starts = [i for i, p in enumerate(positions) if p == 0]
        if not starts or starts[0] != 0:
            raise ValueError("packed features must start an example at position 0")
        for i in starts:
            labels[i] = IGNORE_INDEX
        bounds = starts + [len(ids)]
        longest = max(b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True))
        cu = torch.tensor(bounds, dtype=torch.int32)
        return {
            "input_ids": torch.tensor([ids], dtype=torch.long),
            "labels": torch.tensor([labels], dtype=torch.long),
            "position_ids": torch.tensor([positions], dtype=torch.long),
            "cu_seq_lens_q": cu,
            "cu_seq_lens_k": cu.clone(),
            "max_length_q": longest,
            "max_length_k": longest,
        }


@dataclass
class PackedPairwiseCollator:
    """packing: true for rm and dpo: the batch's B chosen and B rejected sequences back to back in one row [1, N]
    (PackedCollator's layout and keys), chosen first, no padding. Batches hold the same pairs as
    PairwiseCollator's; only the padding is gone."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        return _with_ref_logps(PackedCollator()(_pair_rows(features)), features)


@dataclass
class PackedKTOCollator:
    """packing: true for kto: the batch's examples in one padding-free row and their mismatched KL
    examples in another (keys kl_*), PackedCollator's layout; kto_tags as KTOCollator's."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        return _kto_batch(PackedCollator(), features)
