"""ChatML (`<|im_start|>role\\n...<|im_end|>\\n`): chatml, yi (Yi-34B/6B-Chat), smollm, smollm2, intern2.

The official templates render every role the same way and have no tool-call format.
"""

from lmforge.templates.core import Template, register

CHATML = dict(
    system="<|im_start|>system\n{content}<|im_end|>\n",
    user="<|im_start|>user\n{content}<|im_end|>\n",
    assistant="<|im_start|>assistant\n",
    end_of_turn="<|im_end|>",
    separator="\n",
    stop_words=["<|im_end|>"],
    special_tokens=("<|im_start|>", "<|im_end|>"),
)

register(Template("chatml", official="chatml.jinja", **CHATML))
register(Template("yi", official="chatml.jinja", **CHATML))
register(Template("smollm", official="chatml.jinja", **CHATML))
register(
    Template(
        "smollm2",
        default_system="You are a helpful AI assistant named SmolLM, trained by Hugging Face",  # sic: no period
        official="smollm2.jinja",
        **CHATML,
    )
)
# InternLM2 / 2.5 chat: ChatML after BOS. (LLaMA-Factory adds a default system prompt; the official
# template has none, and we follow the official one.)
register(Template("intern2", prefix="{bos}", official="internlm2.jinja", **CHATML))
