"""Gradient checkpointing in half-layer units, for offloaded checkpointing (use_unsloth_gc).

transformers checkpoints a whole decoder layer: backward recomputes the layer and then holds everything
both halves saved (attention: the normed input, q/k/v, the attention output; MLP: gate, up and their
product, each intermediate_size wide) while the MLP's gradients are computed. At long context that sum is
the peak of training (~3.4 GiB above the weights for Qwen3-8B at 15k tokens).

For a pre-norm layer

    h1 = h + attention(input_layernorm(h))
    out = h1 + mlp(post_attention_layernorm(h1))

checkpointing the two halves separately (inputs h and h1) computes exactly the same numbers, and backward
then holds one half's activations at a time. The cost is one more saved tensor per layer (h1, hidden_size
per token), which is why this is only done when the saved inputs go to CPU memory (activation offload):
there it costs copies, not GPU memory.

Only layers whose forward is exactly that shape are changed (model types in PRE_NORM_TYPES, checked for
the four parts and for extra norms); any other call (no gradients, evaluation, positional extra arguments)
runs the layer's own forward.
"""

from __future__ import annotations

import logging
import types

import torch

log = logging.getLogger(__name__)

# off: measured slower (docs/perf_notes.md); benchmarks/bench_train.py --half-layers turns it on
HALF_LAYER_UNITS = False
# model types whose decoder layer forward is the plain pre-norm residual shape in the module docstring
PRE_NORM_TYPES = {"llama", "mistral", "qwen2", "qwen3"}
_PARTS = ("input_layernorm", "self_attn", "post_attention_layernorm", "mlp")
_EXTRA_NORMS = ("pre_feedforward_layernorm", "post_feedforward_layernorm")
_CACHE_KEYS = ("cache", "past_key_values", "past_key_value", "layer_past")


def _half_units_forward(self, hidden_states, *args, **kwargs):
    if args or not (self.training and torch.is_grad_enabled()):
        return type(self).forward(self, hidden_states, *args, **kwargs)
    for key in _CACHE_KEYS:  # a checkpointed forward never writes a cache (what transformers' wrapper does)
        if kwargs.get(key) is not None:
            kwargs[key] = None
    if kwargs.get("use_cache"):
        kwargs["use_cache"] = False
    checkpoint = self._lmforge_checkpoint

    def attention(h):
        out = self.self_attn(hidden_states=self.input_layernorm(h), **kwargs)
        return out[0] if isinstance(out, tuple) else out

    def mlp(h):
        return self.mlp(self.post_attention_layernorm(h))

    hidden_states = hidden_states + checkpoint(attention, hidden_states)
    return hidden_states + checkpoint(mlp, hidden_states)


def _decoder_layers(model):
    from transformers.modeling_layers import GradientCheckpointingLayer

    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]


def split_checkpoint_units(model) -> int:
    """Checkpoint each checkpointed pre-norm decoder layer of `model` (PEFT-wrapped or not) as two units, for
    the rest of its life (gradient_checkpointing_enable first); returns how many layers are split (0 for other
    model types). Idempotent."""
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type not in PRE_NORM_TYPES:
        log.info("checkpoint units: whole layers (model type %r has no half-layer split)", model_type)
        return 0
    changed = 0
    for layer in _decoder_layers(model):
        if not all(isinstance(getattr(layer, n, None), torch.nn.Module) for n in _PARTS):
            continue
        if any(hasattr(layer, n) for n in _EXTRA_NORMS):
            continue
        if "forward" not in vars(layer):
            if not layer.gradient_checkpointing:
                continue
            # transformers' whole-layer checkpoint (around forward, or around __call__ in transformers <= 5.17)
            # is switched off for this layer: the units take its checkpoint function
            layer._lmforge_checkpoint = layer._gradient_checkpointing_func
            layer.gradient_checkpointing = False
            layer.forward = types.MethodType(_half_units_forward, layer)
        changed += 1
    return changed
