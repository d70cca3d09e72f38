"""Baichuan 2 chat (`baichuan2`): `{system}<reserved_106>{user}<reserved_107>{answer}</s>`.

Baichuan 2 ships no jinja chat template; this follows its `build_chat_input` (user token 195 =
<reserved_106>, assistant token 196 = <reserved_107>, eos after every answer).
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "baichuan2",
        user="<reserved_106>{content}",
        assistant="<reserved_107>",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        special_tokens=("<reserved_106>", "<reserved_107>"),
    )
)
