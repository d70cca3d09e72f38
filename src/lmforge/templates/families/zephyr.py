"""Zephyr (`zephyr`; also TinyLlama-Chat): `<|user|>\\n...</s>\\n<|assistant|>\\n...</s>\\n`.

The role markers are plain text in Zephyr's tokenizer; eos ends every turn. (LLaMA-Factory adds a default
system prompt; the official template has none, and we follow the official one.)
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "zephyr",
        system="<|system|>\n{content}{eos}\n",
        user="<|user|>\n{content}{eos}\n",
        assistant="<|assistant|>\n",
        end_of_turn="{eos}",
        separator="\n",
        stop_words=["{eos}"],
        official="zephyr.jinja",
    )
)
