"""Cohere Command-R / Aya (`cohere`): turns between <|START_OF_TURN_TOKEN|> and <|END_OF_TURN_TOKEN|>.

The official (tool-less) template strips user and assistant text and requires alternating roles.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "cohere",
        prefix="{bos}",
        system="<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>{content}<|END_OF_TURN_TOKEN|>",
        user="<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{content}<|END_OF_TURN_TOKEN|>",
        assistant="<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
        end_of_turn="<|END_OF_TURN_TOKEN|>",
        stop_words=["<|END_OF_TURN_TOKEN|>"],
        special_tokens=(
            "<|START_OF_TURN_TOKEN|>",
            "<|END_OF_TURN_TOKEN|>",
            "<|SYSTEM_TOKEN|>",
            "<|USER_TOKEN|>",
            "<|CHATBOT_TOKEN|>",
        ),
        trim=("user", "assistant"),
        alternate=True,
        official="cohere.jinja",
    )
)
