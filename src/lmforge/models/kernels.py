"""Faster kernels for training: Liger's fused kernels, and less work in PEFT's LoRA layers (no redundant input
casts, the scaling applied at rank r, one fused autograd node per layer).

Liger (enable_liger_kernel: true) swaps the model's RMSNorm, RoPE and SwiGLU for fused Triton kernels
(less memory: they save fewer intermediates for backward), through Liger's own per-family table, so no
family branches live here. Its fused linear cross-entropy is used by the trainer's loss (train/trainer.py),
not by patching the model's forward: our loss keeps the exact gradient-accumulation normalisation.
"""

from __future__ import annotations

import importlib.util
import logging
import types

import torch

from lmforge.errors import ConfigError

log = logging.getLogger(__name__)

# the trainer applies lean_lora_layers to LoRA runs; benchmarks/bench_train.py --peft-lora turns it off and
# --no-fused-lora keeps only the scaling at rank
LEAN_LORA = True
FUSED_LORA = True

LIGER_INSTALL = "pip install 'lmforge[liger]'  (or: pip install liger-kernel)"


def liger_available() -> bool:
    return importlib.util.find_spec("liger_kernel") is not None


def check_liger() -> None:
    """ConfigError unless Liger can run here (installed, and a CUDA GPU for its Triton kernels)."""
    if not liger_available():
        raise ConfigError(f"enable_liger_kernel: true needs the liger-kernel package: {LIGER_INSTALL}; "
                          "or remove enable_liger_kernel (lmforge's own chunked cross-entropy still keeps the "
                          "full logits out of memory)")
    if not torch.cuda.is_available():
        raise ConfigError("enable_liger_kernel: true needs a CUDA GPU (Liger's kernels are Triton kernels); "
                          "remove enable_liger_kernel to train on this machine")


def apply_liger(model) -> bool:
    """Liger's RMSNorm, RoPE and SwiGLU on `model` (a transformers model, before adapters are added).
    Returns False, with a warning, for a family Liger has no kernels for."""
    check_liger()
    from liger_kernel.transformers.monkey_patch import (
        MODEL_TYPE_TO_APPLY_LIGER_FN,
        _apply_liger_kernel_to_instance,
    )

    model_type = getattr(model.config, "model_type", None)
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        log.warning("Liger has no kernels for model type %r; training without them", model_type)
        return False
    _apply_liger_kernel_to_instance(model=model, rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                    fused_linear_cross_entropy=False)
    log.info("Liger kernels: RMSNorm, RoPE, SwiGLU on %s; fused linear cross-entropy in the loss", model_type)
    return True


def skip_lora_input_casts(model) -> int:
    """Stop PEFT's LoRA layers from casting their input to the adapter dtype (float32) under autocast.

    With float32 adapters on a bf16 model, each LoRA layer copies its input to float32, and autocast then
    copies it back to bf16 for the matmul, and saves that copy for backward: seven extra copies of each
    layer's activations. Under autocast the float32 round trip is exact (bf16 -> fp32 -> bf16), so skipping
    it changes no number. Only call this when training under bf16/fp16 autocast. Returns the layers changed.
    """
    from peft.tuners.tuners_utils import BaseTunerLayer

    n = 0
    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            module.cast_input_dtype_enabled = False
            n += 1
    return n


class _FusedLoraLinear(torch.autograd.Function):
    """y = x W^T + bias + ((x A^T) s) B^T for a frozen base layer, as one autograd node.

    Autograd over PEFT's modules computes the input's gradient twice, g W and ((g B) s) A, each a tensor of
    the input's size, and adds them; here the second is accumulated into the first in place (addmm_), and
    likewise the forward adds B's product into the base output in place. Saves the input, the rank-r tensor
    and references to the weights: what PEFT's modules save. `dtype` is the compute dtype (autocast's, or the
    input's); weights are cast to it as autocast would, and A's and B's gradients come back in their own dtype.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, lora_a, lora_b, scaling, dtype):
        with torch.autocast(x.device.type, enabled=False):
            xc = x.to(dtype)
            x2 = xc.reshape(-1, x.shape[-1])
            w, a, b = weight.to(dtype), lora_a.to(dtype), lora_b.to(dtype)
            out = torch.nn.functional.linear(x2, w, None if bias is None else bias.to(dtype))
            low = torch.nn.functional.linear(x2, a).mul_(scaling)
            out.addmm_(low, b.t())
        ctx.save_for_backward(xc, low, w, a, b)
        ctx.scaling, ctx.dtypes = scaling, (x.dtype, lora_a.dtype, lora_b.dtype)
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx, grad):
        xc, low, w, a, b = ctx.saved_tensors
        x_dtype, a_dtype, b_dtype = ctx.dtypes
        g = grad.reshape(-1, grad.shape[-1]).to(w.dtype)
        g_low = (g @ b).mul_(ctx.scaling)
        gx = ga = gb = None
        if ctx.needs_input_grad[0]:
            gx = (g @ w).addmm_(g_low, a).view(*xc.shape).to(x_dtype)
        if ctx.needs_input_grad[3]:
            ga = (g_low.t() @ xc.reshape(-1, xc.shape[-1])).to(a_dtype)
        if ctx.needs_input_grad[4]:
            gb = (g.t() @ low).to(b_dtype)
        return gx, None, None, ga, gb, None, None


def _fused_dtype(self, x, name):
    """The compute dtype when _FusedLoraLinear computes the function PEFT's modules compute, in the same dtypes
    (so only rounding differs), else None: a plain frozen nn.Linear base whose weight is there to read (not a
    DeepSpeed ZeRO-3 partition, which only the base module's own forward gathers), no dropout on the LoRA
    input, and either autocast (every matmul in its dtype) or input, base weight and adapters of one dtype
    (PEFT would otherwise cast the LoRA input to the adapters')."""
    base = self.base_layer
    if type(base) is not torch.nn.Linear or base.weight.requires_grad or getattr(self, "fan_in_fan_out", False):
        return None
    if hasattr(base.weight, "ds_id"):  # ZeRO-3: gathered by hooks on base's forward, which the node skips
        return None
    if (base.bias is not None and base.bias.requires_grad) or not isinstance(self.lora_dropout[name], torch.nn.Identity):
        return None
    device = x.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    a, b = self.lora_A[name].weight, self.lora_B[name].weight
    return x.dtype if x.dtype == base.weight.dtype == a.dtype == b.dtype else None


def _lean_lora_forward(self, x, *args, **kwargs):
    """PEFT's vanilla LoRA forward, base(x) + B(A(x) * s): the scaling applied to the rank-r tensor, and as one
    fused autograd node (_FusedLoraLinear) where that computes the same thing."""
    if args or kwargs or self.disable_adapters or self.merged:
        return type(self).forward(self, x, *args, **kwargs)
    active = [a for a in self.active_adapters if a in self.lora_A]
    if len(active) != 1 or active[0] in getattr(self, "lora_variant", {}) or self.lora_B[active[0]].bias is not None:
        return type(self).forward(self, x, *args, **kwargs)
    name = active[0]
    dtype = _fused_dtype(self, x, name) if FUSED_LORA else None
    if dtype is not None:
        base = self.base_layer
        return _FusedLoraLinear.apply(x, base.weight, base.bias, self.lora_A[name].weight, self.lora_B[name].weight,
                                      self.scaling[name], dtype)
    result = self.base_layer(x)
    lora_A = self.lora_A[name]
    low_rank = lora_A(self.lora_dropout[name](self._cast_input_dtype(x, lora_A.weight.dtype)))
    return (result + self.lora_B[name](low_rank * self.scaling[name])).to(result.dtype)


def lean_lora_layers(model) -> int:
    """Less work in PEFT's Linear LoRA layers, for the same function.

    - The scaling moves from the layer's output to the rank-r tensor. PEFT computes base(x) + B(A(x)) * s: the
      multiply reads and writes a tensor of the layer's output size (intermediate_size wide for gate/up), and
      its backward does it again. B(A(x) * s) is the same function (B is linear and bias-free) on a tensor of
      width r; with s a power of two (LLaMA-Factory's default lora_alpha = 2 x rank) it is even the same bits.
    - Where it computes the same (see _fused_dtype), the layer runs as one autograd node that adds B's product
      and the LoRA path's input gradient in place (_FusedLoraLinear): one fewer tensor of the input's size in
      backward, one fewer of the output's in forward, and no separate add kernels. Float rounding may differ
      (one fused accumulation instead of two roundings).
    Layers with a variant (DoRA, ...), a bias on B, several active or disabled adapters, or extra call arguments
    run PEFT's own forward. Returns the layers changed."""
    from peft.tuners.lora.layer import Linear

    n = 0
    for module in model.modules():
        if type(module) is Linear:
            if "forward" not in vars(module):
                module.forward = types.MethodType(_lean_lora_forward, module)
            n += 1
    return n
