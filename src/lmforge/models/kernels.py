"""Faster kernels for training: Liger's fused kernels, and removing LoRA's redundant input casts.

Liger (enable_liger_kernel: true) swaps the model's RMSNorm, RoPE and SwiGLU for fused Triton kernels
(less memory: they save fewer intermediates for backward), through Liger's own per-family table, so no
family branches live here. Its fused linear cross-entropy is used by the trainer's loss (train/trainer.py),
not by patching the model's forward: our loss keeps the exact gradient-accumulation normalisation.
"""

from __future__ import annotations

import importlib.util
import logging

import torch

from lmforge.errors import ConfigError

log = logging.getLogger(__name__)

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
