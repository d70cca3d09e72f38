"""Phi-3 / Phi-3.5 mini and medium (`phi`), Phi-3 small (`phi_small`), Phi-4 (`phi4`) and Phi-4-mini
(`phi4_mini`). None of their official templates renders tool calls or results.

The Phi-3 templates and Phi-4-mini's end a conversation that has no generation prompt with the eos token
(`<|endoftext|>`); that trailing token is prompt text. The model ends its turns with `<|end|>`.
Phi-3 small is Phi-3's format after bos. Phi-4-mini writes no newlines between turns; it takes a tool list
only as a JSON string in a `tools` field of the system message and cannot render calls or results, so it
has no tool format here.
"""

from lmforge.templates.core import Template, register

PHI3 = dict(
    system="<|system|>\n{content}<|end|>\n",
    user="<|user|>\n{content}<|end|>\n",
    assistant="<|assistant|>\n",
    end_of_turn="<|end|>",
    separator="\n",
    suffix="{eos}",
    stop_words=["<|end|>"],
    special_tokens=("<|user|>", "<|assistant|>", "<|end|>"),
)
register(Template("phi", official="phi3.jinja", **PHI3))
register(Template("phi_small", prefix="{bos}", official="phi3-small.jinja", **PHI3))

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

register(
    Template(
        "phi4_mini",
        system="<|system|>{content}<|end|>",
        user="<|user|>{content}<|end|>",
        assistant="<|assistant|>",
        end_of_turn="<|end|>",
        suffix="{eos}",
        stop_words=["<|end|>"],
        special_tokens=("<|system|>", "<|user|>", "<|assistant|>", "<|end|>"),
        official="phi4-mini.jinja",
    )
)
