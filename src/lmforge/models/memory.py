"""Choices that follow memory: gradient checkpointing off when the activations fit on the GPU.

Gradient checkpointing saves memory by running every decoder layer's forward twice (~33% more compute
for LoRA). lmforge turns it off when an estimate of the peak memory without it fits the GPU, unless the
config says `disable_gradient_checkpointing` either way. The estimate is deliberately simple and
conservative; the decision and its numbers are logged.

    peak ~ weights + 16 bytes per trainable parameter (fp32 weight, grad, two Adam moments)
         + tokens per micro-batch * layers * ACTIVATION_BYTES_PER_UNIT * (hidden + intermediate)
         + one chunk of logits for the loss

ACTIVATION_BYTES_PER_UNIT was measured on an H200 (docs/benchmarks.md): the bytes saved for backward
per token, per layer and per unit of (hidden_size + intermediate_size), for bf16 LoRA training of
Qwen3-8B with transformers' eager modules, rounded up.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

ACTIVATION_BYTES_PER_UNIT = 13.0  # measured 12.2 (HF modules) and 9.1 (Liger) on the H200; rounded up
HEADROOM = 0.85  # of the GPU's memory: allocator fragmentation, CUDA context, temporary buffers
LOSS_CHUNK_BYTES = 4096 * 4 * 2  # per vocabulary entry: one float32 chunk of logits and its gradient


@dataclass
class MemoryPlan:
    gradient_checkpointing: bool
    reason: str


def estimate_peak_bytes(model, tokens: int, trainable: int) -> int:
    config = getattr(model, "config", None)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    layers = getattr(config, "num_hidden_layers", 0) or 0
    width = (getattr(config, "hidden_size", 0) or 0) + (getattr(config, "intermediate_size", 0) or 0)
    vocab = getattr(config, "vocab_size", 0) or 0
    activations = tokens * layers * width * ACTIVATION_BYTES_PER_UNIT
    return int(params + 16 * trainable + activations + vocab * LOSS_CHUNK_BYTES)


def _trainable_estimate(model, cfg) -> int:
    """Parameters that will train (adapters are added after loading; LoRA's are negligible here)."""
    f = cfg.finetuning
    total = sum(p.numel() for p in model.parameters())
    if f.finetuning_type == "full":
        return total
    if f.finetuning_type == "freeze":
        layers = getattr(model.config, "num_hidden_layers", 0) or 1
        return int(total * min(abs(f.freeze_trainable_layers) / layers, 1.0))
    return 0


def plan_gradient_checkpointing(model, cfg) -> MemoryPlan:
    """Whether to checkpoint. The config decides when it says; otherwise on without a CUDA GPU (the CPU is
    short of compute, not memory) and on a GPU off exactly when the estimated peak fits."""
    margs, t = cfg.model, cfg.training
    if "disable_gradient_checkpointing" in getattr(cfg, "user_keys", ()):
        on = not margs.disable_gradient_checkpointing
        return MemoryPlan(on, "set by disable_gradient_checkpointing")
    if not torch.cuda.is_available():
        return MemoryPlan(True, "default without a CUDA GPU")
    tokens = t.per_device_train_batch_size * cfg.data.cutoff_len
    device = torch.cuda.current_device()
    total = torch.cuda.get_device_properties(device).total_memory
    peak = estimate_peak_bytes(model, tokens, _trainable_estimate(model, cfg))
    gib = 2**30
    fits = peak < HEADROOM * total
    why = (f"estimated peak without it {peak / gib:.1f} GiB for {tokens} tokens per micro-batch, GPU "
           f"{total / gib:.0f} GiB ({'fits' if fits else 'does not fit'} in {HEADROOM:.0%}); "
           "disable_gradient_checkpointing: true/false overrides")
    return MemoryPlan(not fits, why)


class OffloadedActivations(torch.autograd.graph.saved_tensors_hooks):
    """Tensors saved for backward go to pinned CPU memory during the forward and come back when backward
    needs them (LLaMA-Factory's `use_unsloth_gc`: "offloaded" gradient checkpointing).

    Meant for use with (reentrant) gradient checkpointing: then what the forward saves is essentially each
    decoder layer's input, ~8 KiB per token per layer for an 8B model, while every layer's own activations
    are recomputed on the GPU in backward (outside this context). Device -> host copies run on a side
    stream, so the forward keeps going; a copy's source stays allocated until it is done (record_stream).
    The way back is a plain host -> device copy on the compute stream, in backward order.

    Parameters (and views of them), small tensors and tensors off the GPU stay where they are. One object
    per forward pass: a tensor saved by several ops is copied once.
    """

    def __init__(self, min_bytes: int = 1 << 20):
        self.min_bytes = min_bytes
        self.stream = torch.cuda.Stream()
        self.seen: dict[int, tuple] = {}
        super().__init__(self._pack, self._unpack)

    def _offloadable(self, t: torch.Tensor) -> bool:
        base = t._base if t._base is not None else t
        return (t.is_cuda and not isinstance(base, torch.nn.Parameter) and t.layout == torch.strided
                and t.numel() * t.element_size() >= self.min_bytes)

    def _pack(self, t: torch.Tensor):
        if not self._offloadable(t):
            return t
        # the same tensor object saved twice is copied once. Not keyed by address: a freed activation's
        # block is reused by the next one of the same shape (measured: wrong gradients, docs/perf_notes.md)
        hit = self.seen.get(id(t))
        if hit is not None and hit[0]() is t and hit[1] == t._version:
            return hit[2]
        host = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="cpu", pin_memory=True)
        self.stream.wait_stream(torch.cuda.current_stream(t.device))
        with torch.cuda.stream(self.stream):
            host.copy_(t, non_blocking=True)
            done = torch.cuda.Event()
            done.record(self.stream)
        t.record_stream(self.stream)
        packed = (t.device, host, done)
        self.seen[id(t)] = (weakref.ref(t), t._version, packed)
        return packed

    @staticmethod
    def _unpack(packed):
        if isinstance(packed, torch.Tensor):
            return packed
        device, host, done = packed
        torch.cuda.current_stream(device).wait_event(done)
        return host.to(device, non_blocking=True)
