"""Phi-3 / Phi-3.5 mini and medium (`phi`) and Phi-4 (`phi4`). Neither official template renders tools.

Phi-3's official template ends a conversation that has no generation prompt with the eos token
(`<|endoftext|>`); that trailing token is prompt text. The model ends its turns with `<|end|>`.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "phi",
        system="<|system|>\n{content}<|end|>\n",
        user="<|user|>\n{content}<|end|>\n",
        assistant="<|assistant|>\n",
        end_of_turn="<|end|>",
        separator="\n",
        suffix="{eos}",
        stop_words=["<|end|>"],
        special_tokens=("<|user|>", "<|assistant|>", "<|end|>"),
        official="phi3.jinja",
    )
)

register(
    Template(
        "phi4",
        system="<|im_start|>system<|im_sep|>{content}<|im_end|>",
        user="<|im_start|>user<|im_sep|>{content}<|im_end|>",
        assistant="<|im_start|>assistant<|im_sep|>",
        end_of_turn="<|im_end|>",
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_start|>", "<|im_sep|>", "<|im_end|>"),
        official="phi4.jinja",
    )
)
