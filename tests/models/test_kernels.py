"""Skipping PEFT's float32 round trip of LoRA inputs under bf16 autocast changes no number (CPU)."""

import torch

from lmforge.models.kernels import skip_lora_input_casts


def _lora_step(tiny_model, ids, skip: bool):
    """Loss and LoRA gradients of one bf16-autocast step of a tiny Llama with LoRA on every linear layer."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model("llama"), dtype=torch.float32)
    torch.manual_seed(1)
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(model, config).train()
    if skip:
        assert skip_lora_input_casts(model) > 0
        assert not any(getattr(m, "cast_input_dtype_enabled", False) for m in model.modules())
    with torch.autocast("cpu", dtype=torch.bfloat16):
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
