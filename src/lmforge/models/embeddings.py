"""Rows for tokens added to the vocabulary (add_tokens, add_special_tokens, new_special_tokens_config).

The new rows of the input embedding (and of an untied output head) start, as LLaMA-Factory's
init_special_tokens says, from one of:
  noise_init         the mean of the existing rows plus Gaussian noise of std 1/sqrt(hidden)
  desc_init          the mean of the rows of the tokens of the token's description
  desc_init_w_noise  desc_init plus the same noise
Each matrix is initialised from its own rows (LLaMA-Factory reads the input embedding's rows for the output head
too; for an untied head its own rows are the ones that mean something there).
"""

from __future__ import annotations

import logging
import math

import torch

log = logging.getLogger(__name__)


def new_token_ids(tokenizer, tokens: list[str]) -> list[int]:
    """The ids of `tokens` that load_tokenizer added (not those the vocabulary already had)."""
    added = set(getattr(tokenizer, "lmforge_added_tokens", ()))
    return sorted({tokenizer.convert_tokens_to_ids(t) for t in tokens if t in added})


def resize_and_initialise(model, tokenizer, *, method: str = "noise_init",
                          descriptions: dict[str, str] | None = None) -> list[int]:
    """Grow the embeddings to the tokenizer's length (to a multiple of 64) when needed and initialise the rows
    of the tokens load_tokenizer added (also those that land in rows the checkpoint had padded in). Returns
    the initialised ids."""
    ids = new_token_ids(tokenizer, list(getattr(tokenizer, "lmforge_added_tokens", ())))
    if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
        # the rows of tokens added here are set below; other new rows (tokens a trained tokenizer already had,
        # whose trained rows come with the adapter) start as transformers' mean resizing makes them
        model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=64, mean_resizing=not ids)
    if not ids:
        return []
    matrices = [model.get_input_embeddings().weight]
    head = model.get_output_embeddings()
    if head is not None and head.weight is not matrices[0]:
        matrices.append(head.weight)
    targets = {tokenizer.convert_tokens_to_ids(t): d for t, d in (descriptions or {}).items()}
    with torch.no_grad():
        for weight in matrices:
            _initialise(weight.data, ids, tokenizer, method, targets)
    log.info("initialised %d new token rows (%s)", len(ids), method)
    return ids


def _initialise(weight: torch.Tensor, ids: list[int], tokenizer, method: str, descriptions: dict[int, str]) -> None:
    keep = torch.ones(weight.shape[0], dtype=torch.bool, device=weight.device)
    keep[ids] = False
    mean = weight[keep].float().mean(dim=0)
    std = 1.0 / math.sqrt(weight.shape[1])
    for token_id in ids:
        row = mean
        if method != "noise_init" and token_id in descriptions:
            desc = tokenizer(descriptions[token_id], add_special_tokens=False)["input_ids"]
            desc = [i for i in desc if i not in ids and 0 <= i < weight.shape[0]]
            if desc:
                row = weight[desc].float().mean(dim=0)
            else:
                log.warning("the description of %s has no existing tokens; its row starts from the mean",
                            tokenizer.convert_ids_to_tokens(token_id))
        if method != "desc_init":
            row = row + torch.randn_like(row) * std
        weight[token_id] = row.to(weight.dtype)
