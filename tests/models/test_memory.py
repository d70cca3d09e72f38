"""Memory choices: the gradient-checkpointing plan, and activation offload (same numbers, on the GPU)."""

import pytest
import torch

from lmforge.config import load_config, parse_argv
from lmforge.models.memory import estimate_peak_bytes, plan_gradient_checkpointing


def _cfg(path, *extra):
    return load_config(parse_argv([f"model_name_or_path={path}", "dataset=unused", "output_dir=/tmp/unused", *extra]))


def test_the_config_decides_when_it_says(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model("qwen3"))
    assert plan_gradient_checkpointing(model, _cfg(tiny_model("qwen3"), "disable_gradient_checkpointing=true")) \
        .gradient_checkpointing is False
    assert plan_gradient_checkpointing(model, _cfg(tiny_model("qwen3"), "disable_gradient_checkpointing=false")) \
        .gradient_checkpointing is True
    if not torch.cuda.is_available():
        assert plan_gradient_checkpointing(model, _cfg(tiny_model("qwen3"))).gradient_checkpointing is True


def test_estimate_grows_with_tokens(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model("qwen3"))
    assert estimate_peak_bytes(model, 4096, 0) > estimate_peak_bytes(model, 2048, 0) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_offloaded_activations_give_the_same_gradients(tiny_model):
    """Gradient checkpointing with the saved layer inputs offloaded to the CPU == without offload."""
    from transformers import AutoModelForCausalLM

    from lmforge.models.memory import OffloadedActivations

    ids = torch.randint(10, 5000, (2, 512), device="cuda")

    def run(offload):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(tiny_model("qwen3"), dtype=torch.float32).cuda()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
        model.enable_input_require_grads()
        model.train()
        ctx = OffloadedActivations(min_bytes=1) if offload else torch.autograd.graph.saved_tensors_hooks(
            lambda t: t, lambda t: t)
        with ctx:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()], ctx

    ref_loss, ref_grads, _ = run(False)
    loss, grads, ctx = run(True)
    assert ctx.seen  # something really went to the CPU
    torch.testing.assert_close(loss, ref_loss)
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_offload_never_confuses_a_new_tensor_with_a_freed_one():
    """Activations of one shape, each freed after being saved: the allocator hands the next one the same
    block. Each must still come back with its own values (an address-keyed cache got this wrong)."""
    from lmforge.models.memory import OffloadedActivations

    x = torch.randn(1 << 20, device="cuda", requires_grad=True)
    with OffloadedActivations(min_bytes=1):
        total = 0
        for i in range(6):
            h = x * (i + 1)
            total = total + h.sin().sum()  # sin saves h
            torch.cuda.synchronize()  # h's copy is done, so its block is free for the next h
            del h
    total.backward()
    expected = sum((i + 1) * torch.cos((i + 1) * x.detach()) for i in range(6))
    torch.testing.assert_close(x.grad, expected)
