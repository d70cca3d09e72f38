"""Faster kernels for training: Liger's fused kernels, and less work in PEFT's LoRA layers (no redundant input
casts, the scaling applied at rank r).

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

# the trainer applies scale_lora_at_rank to LoRA runs; benchmarks/bench_train.py --peft-scaling turns it off
LORA_SCALE_AT_RANK = True

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


def _scaled_rank_forward(self, x, *args, **kwargs):
    """PEFT's vanilla LoRA forward with the scaling applied to the rank-r tensor: base(x) + B(A(x) * s)."""
    if args or kwargs or self.disable_adapters or self.merged:
        return type(self).forward(self, x, *args, **kwargs)
    active = [a for a in self.active_adapters if a in self.lora_A]
    if len(active) != 1 or active[0] in getattr(self, "lora_variant", {}) or self.lora_B[active[0]].bias is not None:
        return type(self).forward(self, x, *args, **kwargs)
    name = active[0]
    result = self.base_layer(x)
    lora_A = self.lora_A[name]
    low_rank = lora_A(self.lora_dropout[name](self._cast_input_dtype(x, lora_A.weight.dtype)))
    return (result + self.lora_B[name](low_rank * self.scaling[name])).to(result.dtype)


def scale_lora_at_rank(model) -> int:
    """Move LoRA's scaling from the layer's output to the rank-r tensor in PEFT's Linear layers.

    PEFT computes base(x) + B(A(x)) * s: the multiply reads and writes a tensor of the layer's output size
    (intermediate_size wide for gate/up), and its backward does it again. B(A(x) * s) is the same function
    (B is linear and bias-free) on a tensor of width r; with s a power of two (LLaMA-Factory's default
    lora_alpha = 2 x rank) it is even the same bits. Layers with a variant (DoRA, ...), a bias on B, several
    active or disabled adapters, or extra call arguments run PEFT's own forward. Returns the layers changed."""
    from peft.tuners.lora.layer import Linear

    n = 0
    for module in model.modules():
        if type(module) is Linear:
            if "forward" not in vars(module):
                module.forward = types.MethodType(_scaled_rank_forward, module)
            n += 1
    return n
