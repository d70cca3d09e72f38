"""Conversation + Template -> input_ids / labels, one function per kind of stage.

How a conversation becomes tokens: the template renders it into Segments (text, trainable, turn); their
texts are joined and tokenized ONCE (add_special_tokens=False, with character offsets), so the ids are
exactly the ids of the official chat template's text. Each token takes the trainable flag and turn of the
segment holding its FIRST character: a token that straddles a boundary (a BPE merge across two segments)
belongs to the segment it starts in. Tokenizers without offsets (slow ones) tokenize segment by segment
instead, which cannot straddle but may differ from whole-text ids at the boundaries.

Truncation to cutoff_len (only when the example is longer): LLaMA-Factory's rule, per turn. Turns are
visited oldest first (newest first with mask_history); each gets what is left of cutoff_len, split
between its prompt tokens (source) and its reply tokens (target) by `infer_seqlen`: a short side keeps
everything and the other side gets the rest; when both sides are long the budget is shared in proportion
to their lengths. Each side loses tokens from its end. Turns that get no budget are dropped.

Labels are -100 (IGNORE_INDEX) where no loss is taken.

Columns per stage:
  pt          input_ids, attention_mask, labels   (text + eos; with packing: blocks of cutoff_len, made by
                                                   PretrainBlocks over the whole dataset)
  sft         input_ids, attention_mask, labels
  ppo / grpo / predict (unsupervised)
              input_ids (the prompt, ending with the generation prompt), attention_mask,
              labels (the reference reply's token ids, not aligned with input_ids)
  rm / dpo    chosen_input_ids, chosen_attention_mask, chosen_labels,
              rejected_input_ids, rejected_attention_mask, rejected_labels
  kto         input_ids, attention_mask, labels, kl_input_ids, kl_attention_mask, kl_labels, kto_tags
Media columns (images, videos, audios) are carried along when a dataset maps them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lmforge.data.conversation import Conversation

IGNORE_INDEX = -100

STAGE_KINDS = {"pt": "pretrain", "sft": "supervised", "rm": "pairwise", "dpo": "pairwise", "kto": "kto",
               "ppo": "unsupervised", "grpo": "unsupervised", "predict": "unsupervised"}


# ---------------------------------------------------------------------------------------------------------
# tokens of a rendered conversation


@dataclass
class Tokens:
    ids: list[int]
    trainable: list[bool]
    turn: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def tokenize_segments(segments: list, tokenizer: Any) -> Tokens:
    """Token ids of the joined segment texts, each token labelled by the segment its first character is in."""
    return tokenize_many([segments], tokenizer)[0]


def tokenize_many(segment_lists: list[list], tokenizer: Any) -> list[Tokens]:
    """tokenize_segments for many renderings with one tokenizer call (what a batched map feeds it)."""
    if not getattr(tokenizer, "is_fast", False):
        return [_tokenize_each(segments, tokenizer) for segments in segment_lists]
    texts = ["".join(s.text for s in segments) for segments in segment_lists]
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    return [_label(segments, ids, offsets)
            for segments, ids, offsets in zip(segment_lists, enc["input_ids"], enc["offset_mapping"], strict=True)]


def _label(segments: list, ids: list[int], offsets: list[tuple[int, int]]) -> Tokens:
    n = len(segments)
    lengths = np.fromiter((len(s.text) for s in segments), dtype=np.int64, count=n)
    seg_starts = np.cumsum(lengths) - lengths
    tok_starts = np.fromiter((o[0] for o in offsets), dtype=np.int64, count=len(offsets))
    # the segment holding each token's first character (the last segment starting at or before it, so an
    # empty segment never owns a token)
    owner = np.maximum(np.searchsorted(seg_starts, tok_starts, side="right") - 1, 0)
    trainable = np.fromiter((s.trainable for s in segments), dtype=bool, count=n)[owner]
    turn = np.fromiter((s.turn for s in segments), dtype=np.int64, count=n)[owner]
    return Tokens(list(ids), trainable.tolist(), turn.tolist())


def _tokenize_each(segments: list, tokenizer: Any) -> Tokens:
    ids, trainable, turn = [], [], []
    for s in segments:
        seg_ids = tokenizer.encode(s.text, add_special_tokens=False)
        ids += seg_ids
        trainable += [s.trainable] * len(seg_ids)
        turn += [s.turn] * len(seg_ids)
    return Tokens(ids, trainable, turn)


def render_tokens(conv: Conversation, template: Any, tokenizer: Any, *, enable_thinking: bool | None = True,
                  add_generation_prompt: bool = False) -> Tokens:
    segments = template.render(conv, add_generation_prompt=add_generation_prompt, enable_thinking=enable_thinking)
    return tokenize_segments(segments, tokenizer)


# ---------------------------------------------------------------------------------------------------------
# truncation


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """(source tokens kept, target tokens kept) within cutoff_len -- LLaMA-Factory's rule, in integers."""
    if target_len * 2 < cutoff_len:  # a short target keeps everything; the source gets the rest
        max_target = cutoff_len
    elif source_len * 2 < cutoff_len:  # a short source keeps everything; the target gets the rest
        max_target = cutoff_len - source_len
    else:  # both long: share in proportion
        max_target = cutoff_len * target_len // (source_len + target_len)
    new_target = min(max_target, target_len)
    new_source = min(max(cutoff_len - new_target, 0), source_len)
    return new_source, new_target


def truncate_positions(tokens: Tokens, cutoff_len: int, newest_first: bool = False) -> list[int]:
    """Positions of the tokens kept under cutoff_len (all of them when the example fits)."""
    n = len(tokens)
    if n <= cutoff_len:
        return list(range(n))
    turns: dict[int, list[int]] = {}
    for p, t in enumerate(tokens.turn):
        turns.setdefault(t, []).append(p)
    order = sorted(turns, reverse=newest_first)
    budget, kept = cutoff_len, []
    for t in order:
        if budget <= 0:
            break
        source = [p for p in turns[t] if not tokens.trainable[p]]
        target = [p for p in turns[t] if tokens.trainable[p]]
        s, g = infer_seqlen(len(source), len(target), budget)
        kept += source[:s] + target[:g]
        budget -= s + g
    return sorted(kept)


def _last_reply_start(tokens: Tokens) -> int:
    """Start of the last run of trainable tokens (the final reply); len(tokens) when there is none."""
    end = len(tokens)
    while end > 0 and not tokens.trainable[end - 1]:
        end -= 1
    start = end
    while start > 0 and tokens.trainable[start - 1]:
        start -= 1
    return start if end > 0 else len(tokens)


# ---------------------------------------------------------------------------------------------------------
# one function per stage kind


def encode_pretrain(texts: list[str], tokenizer: Any, *, cutoff_len: int, packing: bool) -> dict[str, list]:
    """Documents -> text + eos (with the tokenizer's bos, if it adds one), one row per document. Without
    packing each document is cut at cutoff_len; with packing the documents stay whole, and `PretrainBlocks`
    then concatenates them into blocks of exactly cutoff_len over the whole dataset (a batch or a worker's
    shard may hold less than one block, so blocks are never cut here)."""
    eos = tokenizer.eos_token_id
    docs = tokenizer(list(texts), add_special_tokens=True)["input_ids"]
    docs = [d + [eos] if eos is not None and (not d or d[-1] != eos) else d for d in docs]
    if packing:
        truncated = [False] * len(docs)
    else:
        truncated = [len(d) > cutoff_len for d in docs]
        docs = [d[:cutoff_len] for d in docs]
    return {"input_ids": docs, "attention_mask": [[1] * len(d) for d in docs],
            "labels": [list(d) for d in docs], "_truncated": truncated}


class PretrainBlocks:
    """datasets.map(batched=True, with_indices=True) in ONE process, in order: documents -> blocks of exactly
    cutoff_len tokens, the documents concatenated across batches (a block may start in one map batch and end
    in the next). Only the final partial block of the whole dataset is dropped: `total_tokens % cutoff_len`.

    The carried tokens reset when a pass starts again at row 0 (a streamed dataset is re-read every epoch).
    """

    def __init__(self, cutoff_len: int):
        self.cutoff_len = cutoff_len
        self.carry: list[int] = []

    def __call__(self, batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        if indices and indices[0] == 0:
            self.carry = []
        flat = self.carry + [t for ids in batch["input_ids"] for t in ids]
        n = len(flat) // self.cutoff_len * self.cutoff_len
        blocks = [flat[i:i + self.cutoff_len] for i in range(0, n, self.cutoff_len)]
        self.carry = flat[n:]
        return {"input_ids": blocks, "attention_mask": [[1] * len(b) for b in blocks],
                "labels": [list(b) for b in blocks], "_truncated": [False] * len(blocks)}


def supervised_from_tokens(tokens: Tokens, *, cutoff_len: int, train_on_prompt: bool = False,
                           mask_history: bool = False) -> dict[str, Any]:
    keep = truncate_positions(tokens, cutoff_len, newest_first=mask_history)
    ids = np.asarray(tokens.ids, dtype=np.int64)
    if train_on_prompt:
        trained = np.ones(len(ids), dtype=bool)
    else:
        trained = np.asarray(tokens.trainable, dtype=bool)
        if mask_history:
            turn = np.asarray(tokens.turn, dtype=np.int64)
            trained &= turn == turn.max(initial=0)
    labels = np.where(trained, ids, IGNORE_INDEX)
    if len(keep) < len(ids):
        ids, labels = ids[keep], labels[keep]
    return {"input_ids": ids.tolist(), "attention_mask": [1] * len(ids), "labels": labels.tolist(),
            "_truncated": len(keep) < len(tokens)}


def encode_supervised(conv: Conversation, template: Any, tokenizer: Any, *, cutoff_len: int,
                      train_on_prompt: bool = False, mask_history: bool = False,
                      enable_thinking: bool | None = True) -> dict[str, Any]:
    """Loss on every assistant reply (with mask_history: the last turn's only; with train_on_prompt: on
    every token)."""
    tokens = render_tokens(conv, template, tokenizer, enable_thinking=enable_thinking)
    return supervised_from_tokens(tokens, cutoff_len=cutoff_len, train_on_prompt=train_on_prompt,
                                  mask_history=mask_history)


def _split_reply(tokens: Tokens) -> tuple[list[int], list[int], list[bool]]:
    """(prompt ids, reply ids, reply trainable flags): the reply is the last run of trainable tokens and
    whatever the template renders after it."""
    start = _last_reply_start(tokens)
    return tokens.ids[:start], tokens.ids[start:], tokens.trainable[start:]


def _with_reply(conv: Conversation, reply: Any) -> Conversation:
    return replace(conv, messages=[*conv.messages, reply], chosen=None, rejected=None)


def _kl_pair(conv: Conversation, kl_conv: Conversation) -> Conversation:
    return replace(conv, messages=[*conv.messages[:-1], kl_conv.messages[-1]])


def _join(prompt: list[int], reply: list[int], flags: list[bool], s: int, t: int) -> tuple[list[int], list[int]]:
    ids = prompt[:s] + reply[:t]
    labels = [IGNORE_INDEX] * s + [tok if ok else IGNORE_INDEX for tok, ok in zip(reply[:t], flags[:t], strict=True)]
    return ids, labels


def unsupervised_from_tokens(tokens: Tokens, has_reply: bool, *, cutoff_len: int) -> dict[str, Any]:
    if has_reply:
        start = _last_reply_start(tokens)
        end = start
        while end < len(tokens) and tokens.trainable[end]:
            end += 1
        prompt, reply = tokens.ids[:start], tokens.ids[start:end]
    else:
        prompt, reply = tokens.ids, []
    s, t = infer_seqlen(len(prompt), len(reply), cutoff_len)
    return {"input_ids": prompt[:s], "attention_mask": [1] * s, "labels": reply[:t],
            "_truncated": s < len(prompt) or t < len(reply)}


def encode_unsupervised(conv: Conversation, template: Any, tokenizer: Any, *, cutoff_len: int,
                        enable_thinking: bool | None = True) -> dict[str, Any]:
    """input_ids = the prompt up to the generation prompt; labels = the reference reply (may be empty)."""
    has_reply = bool(conv.messages) and conv.messages[-1].role == "assistant"
    tokens = render_tokens(conv, template, tokenizer, enable_thinking=enable_thinking,
                           add_generation_prompt=not has_reply)
    return unsupervised_from_tokens(tokens, has_reply, cutoff_len=cutoff_len)


def pairwise_from_tokens(chosen: Tokens, rejected: Tokens, *, cutoff_len: int) -> dict[str, Any]:
    cp, cr, cf = _split_reply(chosen)
    rp, rr, rf = _split_reply(rejected)
    s, t = infer_seqlen(len(cp), max(len(cr), len(rr)), cutoff_len)
    c_ids, c_labels = _join(cp, cr, cf, s, t)
    r_ids, r_labels = _join(rp, rr, rf, s, t)
    return {"chosen_input_ids": c_ids, "chosen_attention_mask": [1] * len(c_ids), "chosen_labels": c_labels,
            "rejected_input_ids": r_ids, "rejected_attention_mask": [1] * len(r_ids),
            "rejected_labels": r_labels,
            "_truncated": s < max(len(cp), len(rp)) or t < max(len(cr), len(rr))}


def encode_pairwise(conv: Conversation, template: Any, tokenizer: Any, *, cutoff_len: int,
                    enable_thinking: bool | None = True) -> dict[str, Any]:
    """The shared prompt followed by the chosen and by the rejected reply; both cut by the same budget
    (the longer reply decides it), so the two sequences keep the same prompt."""
    chosen, rejected = (render_tokens(_with_reply(conv, reply), template, tokenizer, enable_thinking=enable_thinking)
                        for reply in (conv.chosen, conv.rejected))
    return pairwise_from_tokens(chosen, rejected, cutoff_len=cutoff_len)


def kto_from_tokens(tokens: Tokens, kl_tokens: Tokens, kto_tag: bool, *, cutoff_len: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    truncated = False
    for prefix, t_ in (("", tokens), ("kl_", kl_tokens)):
        prompt, reply, flags = _split_reply(t_)
        s, t = infer_seqlen(len(prompt), len(reply), cutoff_len)
        ids, labels = _join(prompt, reply, flags, s, t)
        out[f"{prefix}input_ids"], out[f"{prefix}attention_mask"], out[f"{prefix}labels"] = ids, [1] * len(ids), labels
        truncated = truncated or s + t < len(prompt) + len(reply)
    out["kto_tags"] = bool(kto_tag)
    out["_truncated"] = truncated
    return out


def encode_kto(conv: Conversation, kl_conv: Conversation, template: Any, tokenizer: Any, *, cutoff_len: int,
               enable_thinking: bool | None = True) -> dict[str, Any]:
    """The row (prompt + reply, loss on the reply) and its KL pair: the same prompt with kl_conv's reply."""
    tokens, kl_tokens = (render_tokens(c, template, tokenizer, enable_thinking=enable_thinking)
                         for c in (conv, _kl_pair(conv, kl_conv)))
    return kto_from_tokens(tokens, kl_tokens, bool(conv.kto_tag), cutoff_len=cutoff_len)


# ---------------------------------------------------------------------------------------------------------
# the batch function datasets.map runs


@dataclass(frozen=True)
class EncodeSettings:
    kind: str  # pretrain | supervised | unsupervised | pairwise | kto
    cutoff_len: int = 2048
    train_on_prompt: bool = False
    mask_history: bool = False
    enable_thinking: bool | None = True
    default_system: str | None = None
    packing: bool = False
    media: bool = False  # carry images/videos/audios columns
    media_plugin: Any = None  # a VL family's plugin (lmforge.media): expands <image> into its tokens


def output_columns(settings: EncodeSettings) -> list[str]:
    cols = {"pretrain": ["input_ids", "attention_mask", "labels"],
            "supervised": ["input_ids", "attention_mask", "labels"],
            "unsupervised": ["input_ids", "attention_mask", "labels"],
            "pairwise": [f"{side}_{c}" for side in ("chosen", "rejected")
                         for c in ("input_ids", "attention_mask", "labels")],
            "kto": ["input_ids", "attention_mask", "labels", "kl_input_ids", "kl_attention_mask", "kl_labels",
                    "kto_tags"]}[settings.kind]
    media = ["images", "videos", "audios"] if settings.media and settings.kind != "pretrain" else []
    return cols + media


def _renderings(kind: str, conv: Conversation, next_conv: Conversation) -> list[tuple[Conversation, bool]]:
    """What one row renders for its kind: (conversation, add_generation_prompt) pairs."""
    if kind == "supervised":
        return [(conv, False)]
    if kind == "unsupervised":
        has_reply = bool(conv.messages) and conv.messages[-1].role == "assistant"
        return [(conv, not has_reply)]
    if kind == "pairwise":
        return [(_with_reply(conv, conv.chosen), False), (_with_reply(conv, conv.rejected), False)]
    return [(conv, False), (_kl_pair(conv, next_conv), False)]  # kto


def encode_batch(batch: dict[str, list], *, settings: EncodeSettings, tokenizer: Any, template: Any) -> dict:
    """datasets.map(batched=True) over the `_conv` column (JSON conversations) -> the stage's columns.

    All renderings of the batch are tokenized in one tokenizer call. KTO's KL reply of each row is the next
    row's reply within the batch (the first row's for the last one).
    """
    from lmforge.data.formats import load_conversation

    convs = [load_conversation(text) for text in batch["_conv"]]
    if settings.media_plugin is not None:
        from lmforge.media import expand_conversation

        convs = [expand_conversation(c, settings.media_plugin) if c.images else c for c in convs]
    if settings.kind == "pretrain":
        return encode_pretrain([c.messages[0].content for c in convs], tokenizer,
                               cutoff_len=settings.cutoff_len, packing=settings.packing)
    if settings.default_system is not None:
        convs = [c if c.system is not None else replace(c, system=settings.default_system) for c in convs]
    per_row = [_renderings(settings.kind, c, convs[(i + 1) % len(convs)]) for i, c in enumerate(convs)]
    segments = [template.render(c, add_generation_prompt=gen, enable_thinking=settings.enable_thinking)
                for renders in per_row for c, gen in renders]
    tokens = iter(tokenize_many(segments, tokenizer))
    cutoff = settings.cutoff_len
    rows = []
    for conv, renders in zip(convs, per_row, strict=True):
        toks = [next(tokens) for _ in renders]
        if settings.kind == "supervised":
            row = supervised_from_tokens(toks[0], cutoff_len=cutoff, train_on_prompt=settings.train_on_prompt,
                                         mask_history=settings.mask_history)
        elif settings.kind == "unsupervised":
            row = unsupervised_from_tokens(toks[0], not renders[0][1], cutoff_len=cutoff)
        elif settings.kind == "pairwise":
            row = pairwise_from_tokens(toks[0], toks[1], cutoff_len=cutoff)
        else:
            row = kto_from_tokens(toks[0], toks[1], bool(conv.kto_tag), cutoff_len=cutoff)
        if settings.media:
            row.update(images=conv.images, videos=conv.videos, audios=conv.audios)
        rows.append(row)
    keys = output_columns(settings) + ["_truncated"]
    return {k: [r[k] for r in rows] for k in keys}
