"""Names LLaMA-Factory users type that lmforge does not register, each with the reason and what to use.
get_template raises a TemplateError with this text instead of "unknown template"."""

from lmforge.templates.core import register_unavailable

register_unavailable(
    "falcon",
    "the chat templates of the Falcon 1 models disagree with each other (falcon-7b/40b-instruct write "
    "'User: ...\\n\\nAssistant: ...', falcon-11B 'User: \\n...\\nFalcon:\\n...') and neither writes an "
    "end-of-turn token, so a model trained on them never learns to stop (LLaMA-Factory's `falcon` appends an "
    "eos that no official template has). Leave `template` unset to train on the tokenizer's own chat template "
    "as it is, or pick a format with an end-of-turn token (e.g. `chatml` after adding its tokens).",
)

register_unavailable(
    "solar",
    "SOLAR-10.7B-Instruct's official chat template ('### User:\\n...\\n\\n### Assistant:\\n...') writes no token after "
    "a reply, so a model trained on it never learns to stop (LLaMA-Factory's `solar` appends an eos the official "
    "template does not have). Leave `template` unset to train on the tokenizer's own template as it is.",
)

register_unavailable(
    "yuan",
    "Yuan 2.0's official chat template joins messages with '<n>' and ends only the last one with the sep token, "
    "with no generation prompt and no end-of-turn token in the history, while LLaMA-Factory's `yuan` writes "
    "'<sep>' after user messages and '<eod>\\n' after replies; the two cannot both hold, and the official one never "
    "teaches the model to stop. Leave `template` unset to train on the tokenizer's own template as it is.",
)
