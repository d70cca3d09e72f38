"""Baidu ERNIE 4.5 (`ernie_nothink`: ERNIE-4.5-0.3B/21B-A3B/300B-A47B, the non-thinking -PT models):
`<|begin_of_sentence|>{system}\\nUser: {user}\\nAssistant: {reply}<|end_of_sentence|>`, messages as they are.

The official template spells the two tokens as `cls_token` / `sep_token` with these defaults; ERNIE's
tokenizer defines them so. No tool format, no reasoning.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "ernie_nothink",
        prefix="<|begin_of_sentence|>",
        system="{content}\n",
        user="User: {content}\n",
        assistant="Assistant: ",
        end_of_turn="<|end_of_sentence|>",
        stop_words=["<|end_of_sentence|>"],
        special_tokens=("<|begin_of_sentence|>", "<|end_of_sentence|>"),
        official="ernie4.5.jinja",
    )
)
