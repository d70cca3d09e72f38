"""Chat templates: Conversation -> official chat text, cut into trainable / prompt Segments.

from lmforge.templates import get_template
template = get_template("qwen3", tokenizer)          # or get_template(None, tokenizer): its own chat_template
segments = template.render(conversation)              # "".join(s.text ...) == apply_chat_template(...)
"""

from lmforge.templates.core import (
    Segment,
    Template,
    Thinking,
    get_template,
    list_templates,
    register,
    saved_chat_template,
)

__all__ = [
    "Segment",
    "Template",
    "Thinking",
    "get_template",
    "list_templates",
    "register",
    "saved_chat_template",
]
