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


def _checkpointed(path, device, dtype=torch.float32):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    model.enable_input_require_grads()
    model.train()
    return model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_offloaded_activations_give_the_same_gradients(tiny_model):
    """Gradient checkpointing with the saved layer inputs offloaded to the CPU == without offload, over
    three steps of one offloader (so the pinned buffers are reused), with backward prefetching."""
    from lmforge.models.memory import ActivationOffloader

    steps = [torch.randint(10, 5000, (2, n), device="cuda") for n in (512, 500, 512)]

    def run(offloader):
        model = _checkpointed(tiny_model("qwen3"), "cuda")
        out = []
        for ids in steps:
            with offloader.hooks() if offloader else torch.autograd.graph.saved_tensors_hooks(lambda t: t,
                                                                                               lambda t: t):
                loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            out.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
            model.zero_grad()
            if offloader and len(out) == 1:
                pinned_after_first = offloader.pool.allocated_bytes
        if offloader:
            assert offloader.pool.allocated_bytes == pinned_after_first  # steps 2 and 3 pinned nothing new
        return out

    offloader = ActivationOffloader(min_bytes=1)
    ref, got = run(None), run(offloader)
    assert offloader.copies > 0 and offloader.prefetches > 0  # things really went to the CPU and came back early
    for (ref_loss, ref_grads), (loss, grads) in zip(ref, got, strict=True):
        torch.testing.assert_close(loss, ref_loss)
        for g, r in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(g, r)


def test_pinned_pool_reuses_buffers_and_drops_obsolete_ones():
    """The offload pool's policy (CPU, plain buffers): a steady run allocates once; a run whose steps keep
    growing holds about one step's worth, not one per size it went through."""
    from lmforge.models.memory import PinnedPool

    released = []
    pool = PinnedPool(lambda n: torch.empty(n, dtype=torch.uint8), lambda: released.append(1))
    mib = 1 << 20

    def step(sizes):
        taken = [pool.take(n) for n in sizes]
        for buf, _ in taken:
            assert buf.numel() >= min(sizes)
        for buf, _ in taken:
            pool.give(buf, None)
        return [b.numel() for b, _ in taken]

    layers = [64 * mib] * 36
    first = step(layers)
    allocated = pool.allocated_bytes
    for _ in range(5):  # steady: same or slightly shorter steps reuse the same buffers
        assert step([n - 3 * mib for n in layers]) and pool.allocated_bytes == allocated
    assert sorted(step(layers)) == sorted(first)
    for k in range(1, 40):  # steps that keep growing (sorted data): each new size replaces the old buffers
        step([(64 + 8 * k) * mib] * 36)
        assert pool.held_bytes <= 36 * (64 + 8 * k) * mib * 1.07
    assert released and not any(b.numel() < (64 + 8 * 39) * mib for b, _ in pool.free)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_offload_never_confuses_a_new_tensor_with_a_freed_one():
    """Activations of one shape, each freed after being saved: the allocator hands the next one the same
    block. Each must still come back with its own values (an address-keyed cache got this wrong)."""
    from lmforge.models.memory import ActivationOffloader

    x = torch.randn(1 << 20, device="cuda", requires_grad=True)
    offloader = ActivationOffloader(min_bytes=1)
    with offloader.hooks():
        total = 0
        for i in range(6):
            h = x * (i + 1)
            total = total + h.sin().sum()  # sin saves h
            torch.cuda.synchronize()  # h's copy is done, so its block is free for the next h
            del h
    total.backward()
    expected = sum((i + 1) * torch.cos((i + 1) * x.detach()) for i in range(6))
    torch.testing.assert_close(x.grad, expected)
    assert offloader.copies == 6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_offload_a_prefetched_tensor_backward_never_reads(monkeypatch):
    """Backward that stops short (autograd.grad to an intermediate) leaves a tensor prefetched but never
    unpacked: its GPU copy dies without the compute stream having waited for it, so it waits as it dies."""
    import sys

    from lmforge.models.memory import ActivationOffloader

    raised = []
    monkeypatch.setattr(sys, "unraisablehook", raised.append)  # errors in __del__ land here, not in the test
    a = torch.randn(1 << 22, device="cuda", requires_grad=True)
    offloader = ActivationOffloader(min_bytes=1)
    with offloader.hooks():
        u = a.sin()  # saves a
        v = u.cos()  # saves u; unpacking u prefetches a
    (gu,) = torch.autograd.grad(v.sum(), u)  # runs cos's backward only: a comes back but is never read
    assert offloader.copies == 2 and offloader.prefetches == 1
    torch.testing.assert_close(gu, -torch.sin(torch.sin(a.detach())))
    del u, v  # the graph, and with it the prefetched copy of a, dies here
    b = torch.full_like(a, 3.0)
    torch.cuda.synchronize()
    assert not raised and bool((b == 3.0).all())


def _lora(path, device):
    from peft import LoraConfig, get_peft_model

    model = _checkpointed(path, device)
    torch.manual_seed(1)
    return get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))])
def test_host_embedding_changes_nothing_in_training(tiny_model, device):
    """A LoRA step with the input table on the CPU == with it on the model's device: same loss and LoRA
    gradients, through checkpointed layers (which need the embedding output to require grad)."""
    from lmforge.models.memory import HostEmbedding, offload_input_embedding

    ids = torch.randint(10, 5000, (2, 64), device=device)

    def step(offload):
        model = _lora(tiny_model("llama"), device)  # untied head
        if offload:
            assert offload_input_embedding(model)
            model.to(device)  # what the Trainer does: the table must stay on the CPU
            table = model.get_input_embeddings()
            assert isinstance(table, HostEmbedding) and table.table.device.type == "cpu"
            assert all(p.device.type == device for p in model.parameters())
            assert not any(p is table.table for p in model.parameters())  # not in checkpoints either
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
        assert grads and all(g is not None and g.abs().sum() > 0 for g in grads.values())
        return loss.detach(), grads

    ref_loss, ref_grads = step(False)
    loss, grads = step(True)
    torch.testing.assert_close(loss, ref_loss)
    assert grads.keys() == ref_grads.keys()
    for name, g in grads.items():
        torch.testing.assert_close(g, ref_grads[name])


def test_embedding_output_requires_grad_without_being_kept(tiny_model):
    """Checkpointed LoRA layers need an embedding output that requires grad. transformers' hook makes it a leaf,
    which autograd keeps until backward ends even when every saved tensor lives elsewhere (offload: here saved
    tensors are copied, as the offloader copies them to the CPU); lmforge's hook gives a non-leaf that dies with
    the forward. Same loss and gradients; with transformers' hook registered as well (PEFT adds it), the same."""
    import weakref

    from lmforge.models.memory import enable_input_require_grads

    ids = torch.randint(10, 5000, (2, 64))

    def step(ours: bool):
        model = _lora(tiny_model("llama"), "cpu")  # transformers' hook, registered by _checkpointed
        if ours:
            enable_input_require_grads(model.get_base_model())
            model.get_base_model().enable_input_require_grads()  # and transformers' again, after ours
        seen = []
        model.get_input_embeddings().register_forward_hook(lambda _m, _a, out: seen.append(weakref.ref(out)))
        with torch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
            loss = model(input_ids=ids, labels=ids).loss
        assert len(seen) == 1
        kept = seen[0]() is not None
        loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
        assert grads and all(g is not None and g.abs().sum() > 0 for g in grads.values())
        return kept, loss.detach(), grads

    ref_kept, ref_loss, ref_grads = step(False)
    kept, loss, grads = step(True)
    assert ref_kept and not kept
    torch.testing.assert_close(loss, ref_loss, rtol=0, atol=0)
    assert grads.keys() == ref_grads.keys()
    for name, g in grads.items():
        torch.testing.assert_close(g, ref_grads[name], rtol=0, atol=0)


def test_host_embedding_refuses_what_it_cannot_do_exactly(tiny_model):
    from lmforge.errors import ConfigError
    from lmforge.models.memory import offload_input_embedding

    with pytest.raises(ConfigError, match="ties its input embedding"):
        offload_input_embedding(_lora(tiny_model("qwen3"), "cpu"))  # tie_word_embeddings
    full = _checkpointed(tiny_model("llama"), "cpu")
    with pytest.raises(ConfigError, match="trains in this run"):
        offload_input_embedding(full)


def test_offload_keys_are_checked():
    from lmforge.errors import ConfigError

    base = ["model_name_or_path=m", "dataset=d", "output_dir=/tmp/unused"]
    with pytest.raises(ConfigError, match="use_unsloth_gc: true with disable_gradient_checkpointing"):
        load_config(parse_argv([*base, "use_unsloth_gc=true", "disable_gradient_checkpointing=true"]))
    with pytest.raises(ConfigError, match="use_reentrant_gc"):
        load_config(parse_argv([*base, "use_unsloth_gc=true", "use_reentrant_gc=false"]))
    with pytest.raises(ConfigError, match="offload_embedding: true with finetuning_type=full"):
        load_config(parse_argv([*base, "offload_embedding=true", "finetuning_type=full"]))
    cfg = load_config(parse_argv([*base, "use_unsloth_gc=true", "offload_embedding=true"]))
    assert cfg.model.use_unsloth_gc and cfg.model.offload_embedding
