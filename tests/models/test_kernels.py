"""Skipping PEFT's float32 round trip of LoRA inputs under bf16 autocast changes no number (CPU)."""

import torch

from lmforge.models.kernels import skip_lora_input_casts


def _lora_model(tiny_model, **lora):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model("llama"), dtype=torch.float32)
    torch.manual_seed(1)
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, **lora)
    return get_peft_model(model, config).train()


def _step(model, ids, autocast: bool):
    torch.manual_seed(2)  # the same dropout masks in both runs
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    return loss.detach().float(), grads


def _compare(tiny_model, change, autocast=False, tol=None, **lora):
    ids = torch.randint(10, 5000, (2, 48))
    ref_loss, ref_grads = _step(_lora_model(tiny_model, **lora), ids, autocast)
    model = _lora_model(tiny_model, **lora)
    assert change(model) > 0
    loss, grads = _step(model, ids, autocast)
    kw = {} if tol is None else {"rtol": tol, "atol": tol}
    torch.testing.assert_close(loss, ref_loss, **kw)
    assert grads.keys() == ref_grads.keys() and grads
    for name, g in grads.items():
        assert g.abs().sum() > 0
        torch.testing.assert_close(g, ref_grads[name], **kw)


def test_skipping_lora_input_casts_changes_nothing_under_autocast(tiny_model):
    def skip(model):
        n = skip_lora_input_casts(model)
        assert not any(getattr(m, "cast_input_dtype_enabled", False) for m in model.modules())
        return n

    _compare(tiny_model, skip, autocast=True, tol=0)
