"""Moonshot AI Moonlight-16B-A3B-Instruct (`moonlight`): `<|im_{role}|>{role}<|im_middle|>{content}<|im_end|>`
with no separators, and the default system prompt "You are a helpful assistant" (sic: no period), which
the official template writes when a conversation has none. No tool format."""

from lmforge.templates.core import Template, register

register(
    Template(
        "moonlight",
        system="<|im_system|>system<|im_middle|>{content}<|im_end|>",
        user="<|im_user|>user<|im_middle|>{content}<|im_end|>",
        assistant="<|im_assistant|>assistant<|im_middle|>",
        end_of_turn="<|im_end|>",
        default_system="You are a helpful assistant",
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_system|>", "<|im_user|>", "<|im_assistant|>", "<|im_middle|>", "<|im_end|>"),
        official="moonlight.jinja",
    )
)
