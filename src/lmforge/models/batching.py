"""Token rows as model input, shared by generation (infer/engine.py), train's predict_with_generate and eval's
scoring: one left_pad below both train/ and infer/, which never import each other."""

from __future__ import annotations

import torch


def left_pad(rows: list[list[int]], pad_id: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows as one left-padded batch: input ids and attention mask (on `device` when given)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            ids[i, width - len(r):] = torch.tensor(r)
            mask[i, width - len(r):] = 1
    return ids.to(device), mask.to(device)
