"""Packed (varlen) attention: each example of a packed row attends only to itself.

transformers' own sdpa and flex paths, given packed position_ids, can attend across the examples of a row
(measured on the H200 image, transformers 5.17: loss off by 1.5e-2 on a tiny Qwen3). So packing uses an
attention function of our own, registered with transformers' AttentionInterface under
``lmforge_packed_<backend>`` and selected with ``attn_implementation``. The padding-free collator passes
``cu_seq_lens_q/k`` and ``max_length_q/k`` with the forward call (transformers' FlashAttentionKwargs); every
decoder layer hands them to the attention function, which runs one of these backends:

- ``flash_attn``   flash-attn's ``flash_attn_varlen_func`` (FA2; FA3 through flash_attn_interface), CUDA
- ``torch_varlen`` ``torch.nn.attention.varlen.varlen_attn`` (PyTorch's own FlashAttention-2), CUDA
- ``flex``         ``flex_attention`` with a document-causal BlockMask
- ``sdpa``         ``scaled_dot_product_attention`` with a block-diagonal causal boolean mask [N, N]

All four compute the same function: softmax(q k^T * scale + mask) v, with mask = same example and causal
(and within the sliding window where the layer has one). Without cu_seq_lens (an unpacked batch) the
function delegates to transformers' sdpa with its usual padding mask, so a model loaded this way still
evaluates and generates normally.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
from typing import Any

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

BACKENDS = ("flash_attn", "torch_varlen", "flex", "sdpa")
PREFIX = "lmforge_packed_"


# ---------------------------------------------------------------------------------------------------------
# choosing and registering


def has_torch_varlen() -> bool:
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(flash_attn: str, cuda: bool | None = None) -> str:
    """The packed backend for the config's flash_attn choice (auto: the fastest one that runs here)."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    has_fa = importlib.util.find_spec("flash_attn") is not None
    if flash_attn in ("fa2", "fa3"):
        return "flash_attn"
    if flash_attn == "flex":
        return "flex" if cuda else "sdpa"  # FlexAttention has no backward on the CPU
    if flash_attn in ("sdpa", "eager", "disabled"):
        return "sdpa"  # eager would compute the same masked softmax, only slower
    if cuda and has_fa:
        return "flash_attn"
    if cuda and has_torch_varlen():
        return "torch_varlen"
    return "sdpa"


def register_packed_attention(backend: str) -> str:
    """Register the packed attention function (and its mask function) for `backend`; returns the
    attn_implementation name to load the model with. Idempotent."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown packed attention backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    name = PREFIX + backend

    def attention(module, query, key, value, attention_mask, **kwargs):
        return packed_attention_forward(module, query, key, value, attention_mask, backend=backend, **kwargs)

    AttentionInterface.register(name, attention)
    AttentionMaskInterface.register(name, _padding_mask_only)
    return name


def _padding_mask_only(*args, attention_mask=None, **kwargs):
    """Mask function for our implementation: no mask when the batch has no padding mask (packed or plain
    rows: the attention function builds per-example causality itself); sdpa's 4D mask otherwise."""
    if attention_mask is None:
        return None
    from transformers.masking_utils import sdpa_mask

    return sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# the attention function


def packed_attention_forward(module, query, key, value, attention_mask, *, backend: str, dropout: float = 0.0,
                             scaling: float | None = None, sliding_window: int | None = None,
                             cu_seq_lens_q=None, cu_seq_lens_k=None, max_length_q=None, max_length_k=None,
                             **kwargs) -> tuple[torch.Tensor, None]:
    """query [B, H, T, D], key/value [B, Hkv, T, D] -> ([B, T, H, D], None), transformers' convention."""
    if attention_mask is not None:  # a padded, unpacked batch: transformers' sdpa with the padding mask
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      sliding_window=sliding_window, **kwargs)
    if kwargs.get("s_aux") is not None:
        raise NotImplementedError("packed attention does not support attention sinks (s_aux); set packing: false")
    batch, heads, length, head_dim = query.shape
    if key.shape[2] != length:
        raise NotImplementedError("packed attention runs in training only (no KV cache)")
    if cu_seq_lens_q is None:  # rows without padding: each row is one sequence
        cu_seq_lens_q = torch.arange(0, (batch + 1) * length, length, dtype=torch.int32, device=query.device)
        max_length_q = length
    elif batch != 1:
        raise ValueError(f"cu_seq_lens describe one packed row, but the batch has {batch} rows")
    cu = cu_seq_lens_q.to(device=query.device, dtype=torch.int32)
    max_len = int(max_length_q) if max_length_q is not None else int((cu[1:] - cu[:-1]).max())
    # [B, H, T, D] -> [B*T, H, D]; a view when the projections were reshaped and transposed (as HF does)
    q, k, v = (x.transpose(1, 2).reshape(batch * length, x.shape[1], head_dim) for x in (query, key, value))
    scale = scaling if scaling is not None else head_dim**-0.5
    causal = getattr(module, "is_causal", True)
    dropout = dropout if module.training else 0.0
    if (SINGLE_SEQUENCE_SDPA and cu.numel() == 2 and query.is_cuda and not sliding_window and not dropout
            and kwargs.get("softcap") is None):
        return _single_sequence_sdpa(query, key, value, scale, causal), None
    out = _RUN[backend](q, k, v, cu, max_len, scale=scale, causal=causal, window=sliding_window, dropout=dropout,
                        softcap=kwargs.get("softcap"))
    return out.reshape(batch, length, heads, head_dim), None


# A row holding ONE example (long-context training: one 16k example per step) needs no varlen kernel; plain
# causal SDPA can then use cuDNN's fused attention, faster than FlashAttention-2 on Hopper (+20% measured on
# the long-context benchmark, docs/perf_notes.md). benchmarks/bench_train.py --varlen-only turns it off.
SINGLE_SEQUENCE_SDPA = True


_CUDNN_GQA: bool | None = None  # does this torch's cuDNN attention take fewer kv heads than query heads?


def _single_sequence_sdpa(query, key, value, scale, causal):
    """Causal SDPA over [B, H, T, D] with cuDNN's kernel first. cuDNN has no enable_gqa flag but may accept
    grouped kv heads as they are (no copy); the first call finds out, else kv heads are repeated for it."""
    global _CUDNN_GQA
    from torch.nn.attention import SDPBackend, sdpa_kernel

    rep = query.shape[1] // key.shape[1]
    if rep > 1 and _CUDNN_GQA is not False:
        try:
            with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
                out = F.scaled_dot_product_attention(query, key, value, is_causal=causal, scale=scale)
            if _CUDNN_GQA is None:
                log.info("one-example rows: cuDNN attention with grouped kv heads")
            _CUDNN_GQA = True
            return out.transpose(1, 2)
        except RuntimeError as e:
            if _CUDNN_GQA:  # it worked before: this is a real error
                raise
            _CUDNN_GQA = False
            log.info("one-example rows: cuDNN attention needs full kv heads here (%s); repeating them",
                     str(e).splitlines()[0][:200])
    if rep > 1:
        key, value = (x.repeat_interleave(rep, dim=1) for x in (key, value))
    order = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]
    with sdpa_kernel(order, set_priority=True):
        out = F.scaled_dot_product_attention(query, key, value, is_causal=causal, scale=scale)
    return out.transpose(1, 2)


def _refuse(backend: str, what: str) -> None:
    raise NotImplementedError(f"packed attention through {backend} does not support {what}; "
                              "use flash_attn: fa2 (flash-attn installed) or set packing: false")


def _run_flash_attn(q, k, v, cu, max_len, *, scale, causal, window, dropout, softcap):
    try:
        from flash_attn_interface import flash_attn_varlen_func  # FlashAttention-3 (Hopper)
        fa3 = True
    except ImportError:
        from flash_attn import flash_attn_varlen_func
        fa3 = False
    kwargs: dict[str, Any] = dict(softmax_scale=scale, causal=causal)
    if window:
        kwargs["window_size"] = (window - 1, 0 if causal else window - 1)
    if softcap:
        kwargs["softcap"] = softcap
    if fa3:
        if dropout:
            _refuse("FlashAttention-3", "attention dropout")
        out = flash_attn_varlen_func(q, k, v, cu, cu, max_len, max_len, **kwargs)
        return out[0] if isinstance(out, tuple) else out
    return flash_attn_varlen_func(q, k, v, cu, cu, max_len, max_len, dropout_p=dropout, **kwargs)


def _varlen_signature() -> set[str]:
    from torch.nn.attention.varlen import varlen_attn

    return set(inspect.signature(varlen_attn).parameters)


def _run_torch_varlen(q, k, v, cu, max_len, *, scale, causal, window, dropout, softcap):
    from torch.nn.attention.varlen import varlen_attn

    if dropout:
        _refuse("torch varlen_attn", "attention dropout")
    if softcap:
        _refuse("torch varlen_attn", "logit soft-capping")
    params = _varlen_signature()
    kwargs: dict[str, Any] = {"scale": scale}
    if "window_size" in params:  # torch >= 2.12: causal is the window (-1, 0)
        left = window - 1 if window else -1
        kwargs["window_size"] = (left, 0 if causal else -1)
    else:  # torch 2.10/2.11: is_causal, no windows
        if window:
            _refuse("this torch's varlen_attn", "sliding windows")
        kwargs["is_causal"] = causal
    if k.shape[1] != q.shape[1]:
        if "enable_gqa" in params:
            kwargs["enable_gqa"] = True
        else:
            k, v = (x.repeat_interleave(q.shape[1] // x.shape[1], dim=1) for x in (k, v))
    return varlen_attn(q, k, v, cu, cu, max_len, max_len, **kwargs)


def _example_ids(cu: torch.Tensor, total: int) -> torch.Tensor:
    lengths = (cu[1:] - cu[:-1]).long()
    return torch.repeat_interleave(torch.arange(len(lengths), device=cu.device), lengths, output_size=total)


def _allowed(q_idx, kv_idx, ids, causal: bool, window: int | None):
    ok = ids[q_idx] == ids[kv_idx]
    if causal:
        ok = ok & (q_idx >= kv_idx)
    if window:
        ok = ok & (q_idx - kv_idx < window) & (kv_idx - q_idx < window)
    return ok


class _MaskCache:
    """The mask of the last cu_seq_lens seen: every layer of one forward pass reuses it. A reference to
    the key tensor is kept, so a new tensor can never be mistaken for it by id."""

    def __init__(self):
        self.key: tuple | None = None
        self.cu: torch.Tensor | None = None
        self.value: Any = None

    def get(self, cu, *extra, build):
        key = (id(cu), *extra)
        if key != self.key:
            self.key, self.cu, self.value = key, cu, build()
        return self.value


_SDPA_MASKS, _FLEX_MASKS = _MaskCache(), _MaskCache()


def _run_sdpa(q, k, v, cu, max_len, *, scale, causal, window, dropout, softcap):
    if softcap:
        _refuse("sdpa", "logit soft-capping")
    total = q.shape[0]

    def build():
        ids = _example_ids(cu, total)
        idx = torch.arange(total, device=q.device)
        return _allowed(idx[:, None], idx[None, :], ids, causal, window)

    mask = _SDPA_MASKS.get(cu, total, causal, window, build=build)
    gqa = k.shape[1] != q.shape[1]
    out = F.scaled_dot_product_attention(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), attn_mask=mask,
                                         dropout_p=dropout, scale=scale, enable_gqa=gqa)
    return out.transpose(0, 1)


def _run_flex(q, k, v, cu, max_len, *, scale, causal, window, dropout, softcap):
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    if dropout:
        _refuse("flex attention", "attention dropout")
    total = q.shape[0]

    def build():
        ids = _example_ids(cu, total)

        def mask_mod(b, h, q_idx, kv_idx):
            return _allowed(q_idx, kv_idx, ids, causal, window)

        return create_block_mask(mask_mod, None, None, total, total, device=q.device)

    block_mask = _FLEX_MASKS.get(cu, total, causal, window, build=build)
    score_mod = None
    if softcap:
        def score_mod(score, b, h, q_idx, kv_idx):
            return softcap * torch.tanh(score / softcap)
    out = flex_attention(q.transpose(0, 1)[None], k.transpose(0, 1)[None], v.transpose(0, 1)[None],
                         score_mod=score_mod, block_mask=block_mask, scale=scale,
                         enable_gqa=k.shape[1] != q.shape[1])
    return out[0].transpose(0, 1)


_RUN = {"flash_attn": _run_flash_attn, "torch_varlen": _run_torch_varlen, "flex": _run_flex, "sdpa": _run_sdpa}


def varlen_attention(q, k, v, cu_seq_lens, max_length, *, backend: str, scale: float | None = None,
                     causal: bool = True, window: int | None = None) -> torch.Tensor:
    """q [N, H, D], k/v [N, Hkv, D] of examples laid end to end (cu_seq_lens: their int32 offsets, N last)
    -> [N, H, D]. The backends' common entry point, used by the tests."""
    scale = scale if scale is not None else q.shape[-1] ** -0.5
    return _RUN[backend](q, k, v, cu_seq_lens.to(torch.int32), int(max_length), scale=scale, causal=causal,
                         window=window, dropout=0.0, softcap=None)
