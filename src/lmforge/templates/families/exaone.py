"""LG EXAONE 3.5 instruct (`exaone`): `[|role|]{content}`, replies and the system prompt closed by
`[|endofturn|]` (the eos), user messages by a newline.

The official template always opens with a system block; a conversation without a system prompt gets an
empty one (`[|system|][|endofturn|]\\n`), which is what `default_system=""` renders here.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "exaone",
        system="[|system|]{content}[|endofturn|]\n",
        user="[|user|]{content}\n",
        assistant="[|assistant|]",
        end_of_turn="[|endofturn|]",
        separator="\n",
        default_system="",
        stop_words=["[|endofturn|]"],
        special_tokens=("[|system|]", "[|user|]", "[|assistant|]", "[|endofturn|]"),
        official="exaone3.5.jinja",
    )
)
