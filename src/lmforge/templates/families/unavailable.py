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
    "gpt_oss",
    "gpt-oss's harmony template (openai/gpt-oss-20b, -120b) is not implemented yet: it writes today's date "
    "into the system message, renders reasoning as a separate analysis message kept only in the final turn, "
    "ends the final reply with <|return|> but earlier ones with <|end|> (which also ends analysis messages, so "
    "it cannot be a stop word), and lists tools as TypeScript namespaces. LLaMA-Factory's `gpt_oss` renders "
    "none of that. Leaving `template` unset does not help for reasoning or multi-turn data (the jinja path "
    "cannot cut harmony replies); train gpt-oss with LLaMA-Factory or plain TRL until it is supported.",
)
