"""PEFT's LoRA layers doing less work compute the same (CPU): the float32 round trip of their input skipped
under bf16 autocast and the scaling applied at rank r change no bit; the fused autograd node changes only
rounding, and runs exactly where it computes what PEFT's modules do."""

import pytest
import torch

from lmforge.models import kernels
from lmforge.models.kernels import lean_lora_layers, skip_lora_input_casts


def _fused_nodes(loss) -> int:
    """_FusedLoraLinear nodes in loss's autograd graph."""
    seen, stack, n = set(), [loss.grad_fn], 0
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        n += type(node).__name__ == "_FusedLoraLinearBackward"
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return n


def _lora_step(tiny_model, ids, skip: bool, at_rank: bool = False, autocast: bool = True, alpha: int = 8,
               fused_nodes: int | None = None, **lora):
    """Loss and LoRA gradients of one step of a tiny Llama with LoRA (rank 4) on every linear layer. at_rank:
    with lean_lora_layers (fused or not as kernels.FUSED_LORA says); fused_nodes: how many fused layers the
    graph must have."""
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
        assert lean_lora_layers(model) == 2 * 7  # two layers, seven linear layers each
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model(input_ids=ids, labels=ids).loss
    if fused_nodes is not None:
        assert _fused_nodes(loss) == fused_nodes
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
def test_lora_scaling_at_rank_is_the_same_function(tiny_model, alpha, autocast, exact, monkeypatch):
    """scaling 2 (a power of two): the same bits, under bf16 autocast and in float32; scaling 1.5: float32
    rounding only."""
    monkeypatch.setattr(kernels, "FUSED_LORA", False)
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


def test_fused_lora_node_equals_peft_layer_in_float64(monkeypatch):
    """One LoRA layer (base with a bias, scaling 1.5, a [batch, tokens, features] input) in float64: output and
    the gradients of input, A and B equal PEFT's modules' to float64 rounding."""
    from peft import LoraConfig, get_peft_model

    def run(fused: bool):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(24, 40, dtype=torch.float64))
        net = get_peft_model(net, LoraConfig(r=4, lora_alpha=6, target_modules=["0"], init_lora_weights=False))
        monkeypatch.setattr(kernels, "FUSED_LORA", fused)
        assert lean_lora_layers(net) == 1
        x = torch.randn(3, 5, 24, dtype=torch.float64, requires_grad=True)
        y = net(x)
        assert _fused_nodes(y.sum()) == int(fused)
        y.backward(torch.randn(3, 5, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
        lora = {n: p.grad for n, p in net.named_parameters() if p.requires_grad}
        assert len(lora) == 2 and all(g is not None and g.abs().sum() > 0 for g in lora.values())
        return y.detach(), x.grad, lora

    ref, got = run(False), run(True)
    torch.testing.assert_close(got[0], ref[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got[1], ref[1], rtol=1e-12, atol=1e-12)
    for name, g in got[2].items():
        torch.testing.assert_close(g, ref[2][name], rtol=1e-12, atol=1e-12)


def _relative_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    ref = ref.double()
    assert ref.abs().sum() > 0
    return ((got.double() - ref).norm() / ref.norm()).item()


def test_fused_lora_model_computes_what_peft_does(tiny_model):
    """Every LoRA layer of the tiny Llama runs as one fused node (14). In float32 loss and adapter gradients
    equal PEFT's to summation order; under bf16 autocast both are bf16 approximations of the float32 step, and
    the fused one is no worse (its errors against float32 are of the same size as PEFT's own)."""
    ids = torch.randint(10, 5000, (2, 48), generator=torch.Generator().manual_seed(0))
    ref_loss, ref_grads = _lora_step(tiny_model, ids, skip=False, autocast=False, alpha=6, fused_nodes=0)
    loss, grads = _lora_step(tiny_model, ids, skip=False, at_rank=True, autocast=False, alpha=6, fused_nodes=14)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=0)
    assert grads.keys() == ref_grads.keys() and len(grads) == 28
    for name, g in grads.items():
        assert g.dtype == torch.float32 and _relative_error(g, ref_grads[name]) < 1e-5

    peft_loss, peft_grads = _lora_step(tiny_model, ids, skip=True, autocast=True, alpha=6, fused_nodes=0)
    fused_loss, fused_grads = _lora_step(tiny_model, ids, skip=True, at_rank=True, autocast=True, alpha=6,
                                         fused_nodes=14)
    torch.testing.assert_close(fused_loss, ref_loss, rtol=1e-3, atol=0)
    peft_err = [_relative_error(peft_grads[n], ref_grads[n]) for n in ref_grads]
    fused_err = [_relative_error(fused_grads[n], ref_grads[n]) for n in ref_grads]
    # (over five input seeds the ratio of the sums ranged 0.80-1.54; a wrong gradient gives errors of order 1)
    assert max(fused_err) < 0.15 and sum(fused_err) < 2 * sum(peft_err), (fused_err, peft_err)
    assert all(g.dtype == torch.float32 for g in fused_grads.values())


def test_fused_lora_node_steps_aside_where_it_would_differ(tiny_model):
    """Dropout on the LoRA input, and adapters in another dtype than a bf16 model without autocast (PEFT
    computes the LoRA path in the adapters' float32 there): PEFT's modules run, so the numbers are PEFT's."""
    ids = torch.randint(10, 5000, (2, 48))
    torch.manual_seed(5)
    ref = _lora_step(tiny_model, ids, skip=False, autocast=False, alpha=6, lora_dropout=0.1)
    torch.manual_seed(5)
    got = _lora_step(tiny_model, ids, skip=False, at_rank=True, autocast=False, alpha=6, lora_dropout=0.1,
                     fused_nodes=0)
    torch.testing.assert_close(got[0], ref[0], rtol=1e-6, atol=0)

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model("llama"), dtype=torch.bfloat16)
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear")).train()
    assert {p.dtype for n, p in model.named_parameters() if "lora_" in n} == {torch.float32}
    lean_lora_layers(model)
    assert _fused_nodes(model(input_ids=ids, labels=ids).loss) == 0
