"""Half-layer checkpoint units compute the same loss and gradients as whole-layer checkpointing."""

import pytest
import torch

from lmforge.models.checkpoint_units import split_checkpoint_units


def _run(path, split: bool, steps):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    model.enable_input_require_grads()
    model.train()
    if split:
        assert split_checkpoint_units(model) == model.config.num_hidden_layers
    calls = []
    out = []
    for ids in steps:
        with torch.autograd.graph.saved_tensors_hooks(lambda t: calls.append(tuple(t.shape)) or t, lambda t: t):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        out.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
        model.zero_grad()
    return out, calls


@pytest.mark.parametrize("arch", ["qwen3", "qwen2", "llama"])
def test_half_layer_units_give_the_same_gradients(tiny_model, arch):
    steps = [torch.randint(10, 3000, (2, n)) for n in (40, 33)]
    (ref, ref_saved), (got, got_saved) = _run(tiny_model(arch), False, steps), _run(tiny_model(arch), True, steps)
    for (ref_loss, ref_grads), (loss, grads) in zip(ref, got, strict=True):
        torch.testing.assert_close(loss, ref_loss, rtol=0, atol=0)  # the forward is the same computation
        assert grads.keys() == ref_grads.keys()
        for name, g in grads.items():  # backward sums the residual branches in another order: float32 rounding
            torch.testing.assert_close(g, ref_grads[name], rtol=1e-5, atol=1e-7, msg=name)
    # what forward saves for backward: one hidden-state tensor more per layer (each half's input)
    hidden = [s for s in got_saved if len(s) == 3 and s[-1] == 32]
    ref_hidden = [s for s in ref_saved if len(s) == 3 and s[-1] == 32]
    assert len(hidden) == len(ref_hidden) + 2 * 2


def test_other_model_types_keep_whole_layers(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model("qwen3"))
    model.config.model_type = "gemma2"
    assert split_checkpoint_units(model) == 0
    assert not any("forward" in vars(m) for m in model.modules())


def test_without_gradients_the_layer_runs_as_is(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model("qwen3"))
    ids = torch.randint(10, 3000, (1, 12))
    with torch.no_grad():
        ref = model(input_ids=ids).logits
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    split_checkpoint_units(model)
    model.train()
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, ref, rtol=0, atol=0)
    model.eval()
    out = model.generate(ids, max_new_tokens=3, do_sample=False)  # the KV cache path is the layer's own
    assert out.shape == (1, 15)
