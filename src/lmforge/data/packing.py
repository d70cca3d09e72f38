"""Packing: encoded examples -> rows of at most cutoff_len tokens, each example keeping its own positions.

A packed row holds several examples back to back. Its `position_ids` restart at 0 at the start of every
example, and that is the only boundary marker the rest of the pipeline needs: the padding-free collator
(train/collators.py) turns the restarts into `cu_seq_lens` for varlen attention, and masks the label of
each example's first token (it must not be predicted from the previous example's last token). With the
attention isolated per example (models/attention.py), a packed row computes exactly what the examples
computed one by one, minus the padding.

- sft (and any stage with one example per row): examples are grouped by best-fit decreasing bin packing
  into rows of at most cutoff_len tokens, within each `datasets.map` batch (preprocessing_batch_size
  examples), so the result is deterministic and streaming datasets pack too.
- pt: the loader has already concatenated the documents into blocks of exactly cutoff_len tokens over the
  whole dataset (encoding.PretrainBlocks), each document ending with eos; the document boundaries are recovered from those eos tokens (a document split between
  two blocks continues in the next block as its own piece, as in any pt packing).

Pure functions on lists first; `pack_dataset` is the thin `datasets` wrapper.
"""

from __future__ import annotations

import bisect
from typing import Any

PACKED_COLUMNS = ("input_ids", "labels", "position_ids")


def best_fit_bins(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices of `lengths` grouped into bins whose lengths sum to <= capacity (best-fit decreasing).

    Longest first; each item goes into the open bin it fills most tightly, or a new bin. Deterministic:
    ties keep the original order. An item longer than `capacity` gets a bin of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (room left, bin number)
    for i in order:
        n = lengths[i]
        k = bisect.bisect_left(free, (n, -1))
        if k < len(free):
            room, b = free.pop(k)
            bins[b].append(i)
            bisect.insort(free, (room - n, b))
        else:
            bins.append([i])
            if capacity - n > 0:
                bisect.insort(free, (capacity - n, len(bins) - 1))
    return bins


def pack_examples(input_ids: list[list[int]], labels: list[list[int]], cutoff_len: int) -> dict[str, list]:
    """Examples -> packed rows (columns input_ids, labels, position_ids). Empty examples are dropped."""
    keep = [i for i, ids in enumerate(input_ids) if len(ids) > 0]
    bins = best_fit_bins([len(input_ids[i]) for i in keep], cutoff_len)
    out: dict[str, list] = {c: [] for c in PACKED_COLUMNS}
    for members in bins:
        row_ids, row_labels, row_pos = [], [], []
        for j in sorted(members):  # within a row, the original order
            i = keep[j]
            row_ids += input_ids[i]
            row_labels += labels[i]
            row_pos += range(len(input_ids[i]))
        out["input_ids"].append(row_ids)
        out["labels"].append(row_labels)
        out["position_ids"].append(row_pos)
    return out


def document_positions(ids: list[int], eos_token_id: int | None) -> list[int]:
    """Position ids that restart after every eos token (pt blocks: documents end with eos)."""
    positions, p = [], 0
    for token in ids:
        positions.append(p)
        p = 0 if token == eos_token_id else p + 1
    return positions


def _pack_batch(batch: dict[str, list], *, cutoff_len: int, pretrain: bool, eos_token_id: int | None) -> dict:
    if pretrain:
        return {"input_ids": batch["input_ids"], "labels": batch["labels"],
                "position_ids": [document_positions(ids, eos_token_id) for ids in batch["input_ids"]]}
    return pack_examples(batch["input_ids"], batch["labels"], cutoff_len)


def pack_dataset(ds: Any, *, stage: str, cutoff_len: int, eos_token_id: int | None,
                 batch_size: int = 1000) -> Any:
    """A `datasets` Dataset / IterableDataset of encoded examples -> packed rows (see module docstring).

    The map is cached by `datasets` like any other (its fingerprint covers this function and its
    arguments). Columns other than input_ids / labels (attention_mask, media) are dropped: a packed row
    has no padding, and media examples are not packed.
    """
    if ds is None:
        return None
    fn_kwargs = dict(cutoff_len=cutoff_len, pretrain=stage == "pt", eos_token_id=eos_token_id)
    columns = ds.column_names
    if columns is None:  # an IterableDataset of unknown features
        columns = list(next(iter(ds)).keys())
    media = [c for c in ("images", "videos", "audios") if c in columns]
    if media:
        from lmforge.errors import ConfigError

        raise ConfigError(f"packing: examples with {', '.join(media)} cannot be packed; set packing: false")
    kwargs: dict[str, Any] = dict(batched=True, batch_size=batch_size, remove_columns=list(columns),
                                  fn_kwargs=fn_kwargs)
    if hasattr(ds, "cache_files"):  # a map-style Dataset: show progress
        kwargs["desc"] = "Packing"
    return ds.map(_pack_batch, **kwargs)
