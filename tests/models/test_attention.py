"""Every packed-attention backend computes per-example causal attention: the same as running each example
alone through sdpa. CPU backends here; the CUDA ones (torch varlen_attn, flash-attn) and the full-model
packed == unpacked check in bf16 run where a GPU is present (the H200 run is recorded in
docs/benchmarks.md)."""

import importlib.util
import random

import pytest
import torch
import torch.nn.functional as F

from lmforge.models.attention import choose_backend, has_torch_varlen, varlen_attention

CUDA = torch.cuda.is_available()


def _reference(q, k, v, cu, window=None):
    """Each example alone: sdpa with a causal (and windowed) mask, GQA by repeating the kv heads."""
    outs = []
    rep = q.shape[1] // k.shape[1]
    for a, b in zip(cu[:-1].tolist(), cu[1:].tolist(), strict=True):
        qi, ki, vi = (x[a:b].transpose(0, 1) for x in (q, k, v))
        ki, vi = ki.repeat_interleave(rep, 0), vi.repeat_interleave(rep, 0)
        i = torch.arange(b - a, device=q.device)
        mask = i[:, None] >= i[None, :]
        if window:
            mask &= i[:, None] - i[None, :] < window
        outs.append(F.scaled_dot_product_attention(qi.double(), ki.double(), vi.double(), attn_mask=mask).transpose(0, 1))
    return torch.cat(outs)


def _inputs(lengths, heads=4, kv_heads=2, dim=16, dtype=torch.float32, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    n = sum(lengths)
    q, k, v = (torch.randn(n, h, dim, generator=g).to(device, dtype) for h in (heads, kv_heads, kv_heads))
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32, device=device)
    return q, k, v, cu


def _check(backend, dtype, device, tol, window=None):
    rng = random.Random(1)
    lengths = [rng.randint(1, 70) for _ in range(7)]
    q, k, v, cu = _inputs(lengths, dtype=dtype, device=device)
    q.requires_grad_(True)
    out = varlen_attention(q, k, v, cu, max(lengths), backend=backend, window=window)
    ref = _reference(q, k, v, cu, window)
    err = float((out.double() - ref).norm() / ref.norm())
    assert err < tol, err
    # gradients flow, and also stay within each example
    (out.double() * torch.randn_like(ref)).sum().backward()
    assert torch.isfinite(q.grad).all()


@pytest.mark.parametrize("window", [None, 5])
def test_sdpa_block_diagonal(window):
    _check("sdpa", torch.float64, "cpu", 1e-12, window)


def test_flex_document_mask_forward():
    rng = random.Random(2)
    lengths = [rng.randint(1, 70) for _ in range(5)]
    q, k, v, cu = _inputs(lengths, dtype=torch.float64)
    out = varlen_attention(q, k, v, cu, max(lengths), backend="flex")
    ref = _reference(q, k, v, cu)
    assert float((out - ref).norm() / ref.norm()) < 1e-10


def test_choice_without_gpu():
    assert choose_backend("auto", cuda=False) == "sdpa"
    assert choose_backend("flex", cuda=False) == "sdpa"  # FlexAttention has no CPU backward
    assert choose_backend("fa2", cuda=True) == "flash_attn"


@pytest.mark.skipif(not (CUDA and has_torch_varlen()), reason="needs CUDA and torch.nn.attention.varlen")
def test_torch_varlen_on_gpu():
    _check("torch_varlen", torch.bfloat16, "cuda", 2e-2)


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_flex_on_gpu():
    _check("flex", torch.bfloat16, "cuda", 2e-2)


@pytest.mark.skipif(not (CUDA and importlib.util.find_spec("flash_attn")), reason="needs flash-attn")
def test_flash_attn_on_gpu():
    _check("flash_attn", torch.bfloat16, "cuda", 2e-2)


def _loss_and_grads(model_path, attn: str, batch: dict, n: int) -> tuple[float, torch.Tensor]:
    """The tiny model in bf16 on the GPU: loss (normalised by n tokens) and all gradients, flattened."""
    from transformers import AutoModelForCausalLM

    from lmforge.train.losses import causal_lm_loss

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.bfloat16, attn_implementation=attn).cuda()
    batch = {k: v.cuda() if torch.is_tensor(v) else v for k, v in batch.items()}
    labels = batch.pop("labels")
    loss = causal_lm_loss(model(**batch).logits, labels, num_items_in_batch=n)
    loss.backward()
    return float(loss), torch.cat([p.grad.float().flatten() for p in model.parameters()])


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("backend", ["torch_varlen", "flex", "sdpa"])
def test_packed_model_equals_unpacked_on_gpu(tiny_model, backend):
    """The tiny Qwen3 in bf16 on the GPU: packed loss and gradients through `backend` == padded batch."""
    if backend == "torch_varlen" and not has_torch_varlen():
        pytest.skip("no torch varlen_attn")

    from lmforge.data.packing import pack_examples
    from lmforge.models.attention import register_packed_attention
    from lmforge.train.collators import PackedCollator, PaddingCollator

    rng = random.Random(0)
    rows = []
    for i in range(8):
        ids = [rng.randint(10, 5000) for _ in range(rng.randint(20, 300))]
        rows.append({"input_ids": ids, "labels": ids if i % 2 else [-100] * 5 + ids[5:]})
    padded = PaddingCollator(0)(rows)
    packed_rows = pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], 4096)
    packed = PackedCollator()([{k: v[0] for k, v in packed_rows.items()}])
    n = int((padded["labels"][:, 1:] != -100).sum())

    ref_loss, ref_grad = _loss_and_grads(tiny_model("qwen3"), "sdpa", padded, n)
    loss, grad = _loss_and_grads(tiny_model("qwen3"), register_packed_attention(backend), packed, n)
    assert loss == pytest.approx(ref_loss, rel=2e-3)
    assert float((grad - ref_grad).norm() / ref_grad.norm()) < 3e-2


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("single_sdpa", [True, False])
def test_one_example_row_model_equals_unpacked_on_gpu(tiny_model, monkeypatch, single_sdpa):
    """A packed row holding one example (the long-context case) goes through causal SDPA (cuDNN first) by
    default, or through the varlen kernel: either way loss and gradients == the unpacked model's."""
    if not has_torch_varlen():
        pytest.skip("no torch varlen_attn")

    import lmforge.models.attention as attention
    from lmforge.train.collators import PackedCollator, PaddingCollator

    monkeypatch.setattr(attention, "SINGLE_SEQUENCE_SDPA", single_sdpa)
    rng = random.Random(1)
    ids = [rng.randint(10, 5000) for _ in range(1500)]
    row = {"input_ids": ids, "labels": [-100] * 40 + ids[40:]}
    n = len(ids) - 41

    calls = []
    real = attention._single_sequence_sdpa
    monkeypatch.setattr(attention, "_single_sequence_sdpa", lambda *a: calls.append(1) or real(*a))
    ref_loss, ref_grad = _loss_and_grads(tiny_model("qwen3"), "sdpa", PaddingCollator(0)([row]), n)
    loss, grad = _loss_and_grads(tiny_model("qwen3"), attention.register_packed_attention("torch_varlen"),
                                 PackedCollator()([row]), n)
    assert bool(calls) == single_sdpa  # the path under test really ran
    assert loss == pytest.approx(ref_loss, rel=2e-3)
    assert float((grad - ref_grad).norm() / ref_grad.norm()) < 3e-2


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("heads,kv_heads,dim", [(32, 8, 128), (4, 2, 16)])  # Qwen3-8B's attention; the tiny one
def test_single_example_row_through_causal_sdpa_on_gpu(monkeypatch, heads, kv_heads, dim):
    """The one-example-per-row shortcut (cuDNN first, grouped kv heads as they are where cuDNN takes them)
    == per-example attention, outputs and the gradients of q, k and v."""
    import lmforge.models.attention as attention

    monkeypatch.setattr(attention, "SINGLE_SEQUENCE_SDPA", True)
    monkeypatch.setattr(attention, "_CUDNN_GQA", None)
    q, k, v, cu = _inputs([777], heads=heads, kv_heads=kv_heads, dim=dim, dtype=torch.bfloat16, device="cuda")
    for x in (q, k, v):
        x.requires_grad_(True)
    module = torch.nn.Module()
    module.is_causal = True
    out, _ = attention.packed_attention_forward(module, q.transpose(0, 1)[None], k.transpose(0, 1)[None],
                                                v.transpose(0, 1)[None], None, backend="torch_varlen",
                                                cu_seq_lens_q=cu, max_length_q=777)
    print("cuDNN with grouped kv heads:", attention._CUDNN_GQA)
    weights = torch.randn(out[0].shape, device="cuda", dtype=torch.float64)
    (out[0].double() * weights).sum().backward()
    got = [x.grad.double() for x in (q, k, v)]
    q64, k64, v64 = (x.detach().double().requires_grad_(True) for x in (q, k, v))
    ref = _reference(q64, k64, v64, cu)
    assert float((out[0].double() - ref).norm() / ref.norm()) < 2e-2
    (ref * weights).sum().backward()
    for g, r in zip(got, (q64.grad, k64.grad, v64.grad), strict=True):
        assert float((g - r).norm() / r.norm()) < 3e-2
