"""PEFT's LoRA layers doing less work change no number (CPU): the float32 round trip of their input skipped
under bf16 autocast, the scaling applied at rank r."""

import pytest
import torch

from lmforge.models.kernels import scale_lora_at_rank, skip_lora_input_casts


def _lora_step(tiny_model, ids, skip: bool, at_rank: bool = False, autocast: bool = True, alpha: int = 8,
               **lora):
    """Loss and LoRA gradients of one step of a tiny Llama with LoRA (rank 4) on every linear layer."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model("llama"), dtype=torch.float32)
    torch.manual_seed(1)
    config = LoraConfig(r=4, lora_alpha=alpha, target_modules="all-linear", init_lora_weights=False, **lora)
    model = get_peft_model(model, config).train()
    if skip:
        assert skip_lora_input_casts(model) > 0
        assert not any(getattr(m, "cast_input_dtype_enabled", False) for m in model.modules())
    if at_rank:
        assert scale_lora_at_rank(model) == 2 * 7  # two layers, seven linear layers each
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    return loss.detach().float(), {n: p.grad for n, p in model.named_parameters() if p.requires_grad}


def test_skipping_lora_input_casts_changes_nothing_under_autocast(tiny_model):
    ids = torch.randint(10, 5000, (2, 48))
    ref_loss, ref_grads = _lora_step(tiny_model, ids, skip=False)
    loss, grads = _lora_step(tiny_model, ids, skip=True)
    torch.testing.assert_close(loss, ref_loss, rtol=0, atol=0)
    assert grads.keys() == ref_grads.keys() and grads
    for name, g in grads.items():
        assert g.abs().sum() > 0
        torch.testing.assert_close(g, ref_grads[name], rtol=0, atol=0)


@pytest.mark.parametrize("alpha, autocast, exact", [(8, True, True), (8, False, True), (6, False, False)])
def test_lora_scaling_at_rank_is_the_same_function(tiny_model, alpha, autocast, exact):
    """scaling 2 (a power of two): the same bits, under bf16 autocast and in float32; scaling 1.5: float32
    rounding only."""
    ids = torch.randint(10, 5000, (2, 48))
    ref_loss, ref_grads = _lora_step(tiny_model, ids, skip=autocast, autocast=autocast, alpha=alpha)
    loss, grads = _lora_step(tiny_model, ids, skip=autocast, at_rank=True, autocast=autocast, alpha=alpha)
    tol = dict(rtol=0, atol=0) if exact else dict(rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(loss, ref_loss, **tol)
    assert grads.keys() == ref_grads.keys() and grads
    for name, g in grads.items():
        assert g.abs().sum() > 0
        torch.testing.assert_close(g, ref_grads[name], **tol)
    if not exact:  # the other order of operations really ran
        assert any(not torch.equal(g, ref_grads[name]) for name, g in grads.items())


def test_lora_variants_keep_peft_forward(tiny_model):
    """DoRA (a LoRA variant) and a bias on B run PEFT's own forward: same numbers as without the change."""
    ids = torch.randint(10, 5000, (2, 48))
    for extra in ({"use_dora": True}, {"lora_bias": True}):
        ref = _lora_step(tiny_model, ids, skip=False, autocast=False, alpha=6, **extra)
        got = _lora_step(tiny_model, ids, skip=False, at_rank=True, autocast=False, alpha=6, **extra)
        torch.testing.assert_close(got[0], ref[0], rtol=0, atol=0)
        for name, g in got[1].items():
            torch.testing.assert_close(g, ref[1][name], rtol=0, atol=0)
