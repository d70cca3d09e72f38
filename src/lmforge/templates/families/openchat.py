"""OpenChat 3.5 (`openchat`; openchat-3.5-0106, Starling-LM): `GPT4 Correct User: ...<|end_of_turn|>`.

The official template writes every role as `GPT4 Correct {Role}: {content}<|end_of_turn|>` (a system prompt
too) and the generation prompt as `GPT4 Correct Assistant:`, so the reply starts with the space the history
writes after the colon. It has no tool format.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "openchat",
        prefix="{bos}",
        system="GPT4 Correct System: {content}<|end_of_turn|>",
        user="GPT4 Correct User: {content}<|end_of_turn|>",
        assistant="GPT4 Correct Assistant:",
        reply=" {content}",
        end_of_turn="<|end_of_turn|>",
        stop_words=["<|end_of_turn|>"],
        special_tokens=("<|end_of_turn|>",),
        official="openchat-3.5.jinja",
    )
)


# OpenChat 3.6 (openchat-3.6-8b-20240522, on Llama 3): Llama 3 headers with OpenChat's role names, every
# message stripped, a system block only when there is a system prompt.
register(
    Template(
        "openchat-3.6",
        prefix="{bos}",
        system="<|start_header_id|>System<|end_header_id|>\n\n{content}<|eot_id|>",
        user="<|start_header_id|>GPT4 Correct User<|end_header_id|>\n\n{content}<|eot_id|>",
        assistant="<|start_header_id|>GPT4 Correct Assistant<|end_header_id|>\n\n",
        end_of_turn="<|eot_id|>",
        stop_words=["<|eot_id|>"],
        special_tokens=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
        trim=("system", "user", "assistant"),
        official="openchat-3.6.jinja",
    )
)
