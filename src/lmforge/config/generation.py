"""Decoding settings for chat, the API server, prediction and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from lmforge.config.fields import arg


@dataclass
class GeneratingArguments:
    do_sample: bool = arg(True, "Sample; false means greedy (or beam) decoding.")
    temperature: float = arg(0.95, "Sampling temperature (> 0).")
    top_p: float = arg(0.7, "Nucleus sampling: keep the smallest token set with this total probability, in (0, 1].")
    top_k: int = arg(50, "Keep only the k most likely tokens when sampling.")
    num_beams: int = arg(1, "Beams for beam search; 1 disables it.")
    max_length: int = arg(1024, "Maximum total tokens (prompt + output); max_new_tokens takes precedence.")
    max_new_tokens: int = arg(1024, "Maximum generated tokens.")
    repetition_penalty: float = arg(1.0, "Penalty (>= 1) for repeated tokens.")
    length_penalty: float = arg(1.0, "Exponential length penalty of beam search.")
    skip_special_tokens: bool = arg(True, "Drop special tokens from decoded output.")

    def to_generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `model.generate`."""
        kwargs = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "skip_special_tokens"}
        if kwargs["max_new_tokens"] > 0:
            kwargs.pop("max_length")
        if not kwargs["do_sample"]:
            for key in ("temperature", "top_p", "top_k"):
                kwargs.pop(key)
        return kwargs
