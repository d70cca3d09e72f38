"""Formats without an official chat template, as LLaMA-Factory users know them: `default`, `empty`,
`fewshot`, `alpaca`, `vicuna` (FastChat's vicuna_v1.1 spacing, the format Vicuna models were trained on).

Their `chat_template()` is generated from these strings, so a checkpoint renders what training saw.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "default",
        system="System: {content}{eos}\n",
        user="Human: {content}{eos}\n",
        assistant="Assistant:",
        end_of_turn="{eos}",
        separator="\n",
        stop_words=["{eos}"],
    )
)

register(Template("empty"))  # raw text, nothing added: the model is not taught to stop

# few-shot prompts for base models (LLaMA-Factory's `fewshot`, used by `eval`): turns run together, each reply
# followed by a blank line
register(Template("fewshot", end_of_turn="\n\n"))

register(
    Template(
        "alpaca",
        default_system=(
            "Below is an instruction that describes a task. "
            "Write a response that appropriately completes the request.\n\n"
        ),
        user="### Instruction:\n{content}\n\n",
        assistant="### Response:\n",
        end_of_turn="{eos}",
        separator="\n\n",
        stop_words=["{eos}"],
    )
)

register(
    Template(
        "vicuna",
        default_system=(
            "A chat between a curious user and an artificial intelligence assistant. "
            "The assistant gives helpful, detailed, and polite answers to the user's questions."
        ),
        system="{content} ",
        user="USER: {content} ",
        assistant="ASSISTANT:",
        reply=" {content}",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
    )
)
